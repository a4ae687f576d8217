"""The training engine: one loop for every model, single process or DDP under torchrun."""

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from condnet.config import RunConfig, parse_config
from condnet.cost import count_params
from condnet.devices import resolve_device
from condnet.errors import CondnetError, ConfigError, RunDirError
from condnet.files import check_output_dir
from condnet.seeding import rng_state, seed_everything, set_rng_state
from condnet.train.checkpoint import load_checkpoint, save_checkpoint
from condnet.train.distributed import all_reduce_sum, barrier, gather_objects, init_distributed, local_device
from condnet.train.objective import evaluate, logits_of, targets_of, training_losses
from condnet.train.optim import build_optimizer, build_scheduler
from condnet.train.rundir import RunDir, RunLock
from condnet.train.setup import DataBundle, build_model, load_data, make_batcher, resolve_run_config
from condnet.train.summary import cost_summary


class NonFiniteLoss(CondnetError):
    """Training reached a NaN or infinite loss."""


def _is_main_process() -> bool:
    """Rank 0 of a torchrun job, or a process not started by torchrun (only it locks the run directory)."""
    return os.environ.get("RANK", "0") == "0"


class Trainer:
    """Trains ``cfg`` into ``out_dir``; ``resume=True`` continues from ``out_dir``'s last checkpoint.

    The run directory is locked from the start of ``__init__`` until :meth:`fit` returns or raises (or
    :meth:`close` is called): one process writes a run at a time. ``force=True`` replaces a run that
    ``out_dir`` already holds (its files are deleted when training starts, after every check passed).
    """

    def __init__(self, cfg: RunConfig | None, out_dir: str | Path, resume: bool = False, verbose: bool = True,
                 data: DataBundle | None = None, force: bool = False) -> None:
        self.run = RunDir(out_dir)
        check_output_dir(self.run.root)
        self.lock = RunLock(self.run)
        if _is_main_process():
            self.lock.acquire()
        try:
            self._setup(cfg, resume, verbose, data, force)
        except BaseException:
            self.close()
            raise

    def _setup(self, cfg: RunConfig | None, resume: bool, verbose: bool, data: DataBundle | None,
               force: bool) -> None:
        self.replace = False
        if resume:  # the saved config, as the run started with it (resolved then)
            self.cfg = self._resume_config(cfg)
            resume = self.run.last.exists()  # killed before the first checkpoint: start over, same config
        else:
            if self.run.exists() or self.run.last.exists():
                if not force:
                    raise RunDirError(self._existing_run_message())
                self.replace = True
            self.cfg = resolve_run_config(cfg, locate_data=True)
        self.resume, self.verbose = resume, verbose
        self.device = local_device(resolve_device(self.cfg.train.device))
        if self.cfg.train.threads:
            torch.set_num_threads(self.cfg.train.threads)
        self.dist = init_distributed(self.device)
        seed_everything(self.cfg.train.seed)
        self.data = data or load_data(self.cfg.data)
        self.model = build_model(self.cfg.model).to(self.device)
        seed_everything(self.cfg.train.seed + self.dist.rank)  # per-rank dropout / random routing
        self.train_batches = make_batcher(self.data.train, self.cfg.data, self.data.info, True,
                                          self.cfg.train.seed, self.dist)
        self.val_batches = make_batcher(self.data.val, self.cfg.data, self.data.info, False, dist=self.dist)
        self.has_val = len(self.data.val) > 0
        self.steps_per_epoch = self.train_batches.num_batches()
        if self.steps_per_epoch == 0:
            raise ConfigError("the training split is empty or smaller than 2 images; lower data.val_size or "
                              "raise data.limit_train")
        self.optimizer = build_optimizer(self.model, self.cfg.train)
        self.scheduler = build_scheduler(self.optimizer, self.cfg.train, self.steps_per_epoch)
        self.wrapped: nn.Module = self.model
        if self.dist.enabled:
            self.wrapped = DistributedDataParallel(
                self.model, find_unused_parameters=self.cfg.train.find_unused_parameters)
        self.epoch, self.best_accuracy, self.best_epoch = 0, -math.inf, 0
        self.run_id: str | None = None

    def close(self) -> None:
        """Release the run directory's lock (``fit`` does this itself)."""
        self.lock.release()

    def _existing_run_message(self) -> str:
        root = self.run.root
        if self.run.summary.exists():
            return f"{root} already holds a finished run; choose another --out, or pass --force to replace it"
        if self.run.last.exists():
            return (f"{root} already holds an unfinished run; continue it with --resume, or pass --force to "
                    "replace it")
        return (f"{root} holds a run that stopped before its first epoch ended; continue it with --resume, "
                "or pass --force to replace it")

    def _resume_config(self, cfg: RunConfig | None) -> RunConfig:
        if not self.run.exists():
            raise RunDirError(f"nothing to resume in {self.run.root} (no config.yaml); "
                              "start the run without --resume")
        if self.run.config_edited():
            raise RunDirError(f"{self.run.config} was edited after the run started; restore it (the run's "
                              "numbers depend on it) or start a new run in another --out")
        try:
            saved = parse_config(self.run.read_config())
        except CondnetError as exc:
            raise RunDirError(f"{self.run.config} is not a valid run config ({exc}); restore it or start a "
                              "new run") from None
        self.run.remove_temp_files()
        if cfg is not None:
            given = resolve_run_config(cfg, locate_data=True).to_dict()
            differing = [f"{s}.{k}" for s in given for k in given[s]
                         if given[s][k] != saved.to_dict()[s].get(k)]
            if differing:
                raise RunDirError(f"--resume with a config that differs from {self.run.config} in "
                                  f"{', '.join(differing)}; resume without --config or start a new --out")
        return saved

    def _checked_checkpoint(self, path: Path) -> dict[str, Any]:
        """A checkpoint of this run: its run id and config must be this run's."""
        state = load_checkpoint(path)
        if self.run_id is not None and state.get("run_id") != self.run_id:
            raise RunDirError(f"{path} belongs to another run (its run id is not {self.run_id}, the one in "
                              f"{self.run.identity}); put this run's checkpoint back or start a new run")
        if state["config"] != self.cfg.to_dict():
            raise RunDirError(f"{path} was written with another config than {self.run.config}; "
                              "put this run's checkpoint back or start a new run")
        return state

    def _state(self, rng_by_rank: list[dict[str, Any]]) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch, "best_accuracy": self.best_accuracy, "best_epoch": self.best_epoch,
                "rng": rng_by_rank, "run_id": self.run_id}

    def _load_last(self) -> None:
        state = self._checked_checkpoint(self.run.last)
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.best_accuracy, self.best_epoch = (state["epoch"], state["best_accuracy"],
                                                           state["best_epoch"])
        by_rank = state["rng"] if isinstance(state["rng"], list) else [state["rng"]]  # older runs: one state
        set_rng_state(by_rank[self.dist.rank if self.dist.rank < len(by_rank) else 0])
        if self.dist.is_main:
            self.run.truncate_metrics(self.epoch)

    def _log(self, text: str) -> None:
        if self.verbose and self.dist.is_main:
            print(text, flush=True)

    def train_epoch(self) -> dict[str, float]:
        """One pass over the training split; returns the epoch's mean losses and accuracy."""
        self.wrapped.train()
        sums: dict[str, torch.Tensor] = {}
        correct, seen = torch.zeros((), dtype=torch.float64), 0
        hook = getattr(self.model, "on_train_step", None)
        extra_inputs = getattr(self.model, "training_kwargs", None)
        bar = tqdm(total=self.steps_per_epoch, desc=f"epoch {self.epoch + 1}/{self.cfg.train.epochs}",
                   leave=False, disable=not (self.verbose and self.dist.is_main and sys.stdout.isatty()))
        for step, (x, y) in enumerate(self.train_batches.epoch(self.epoch)):
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            if hook is not None:
                hook(self.epoch, self.epoch * self.steps_per_epoch + step)
            output = self.wrapped(x, **(extra_inputs(y) if extra_inputs is not None else {}))
            terms = training_losses(self.model, output, y, self.cfg.train.label_smoothing)
            loss = sum(terms.values())
            if not bool(torch.isfinite(loss.detach())):
                kept = (f"{self.run.last} still holds epoch {self.epoch}, the last good one" if self.epoch
                        else "no epoch had finished, so there is no checkpoint")
                raise NonFiniteLoss(
                    f"the training loss became {float(loss.detach()):g} at epoch {self.epoch + 1}, step "
                    f"{step + 1}; training stopped and {kept}. Lower train.lr (now {self.cfg.train.lr:g}) or "
                    "check the data, then start a new run")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            with torch.no_grad():
                for name, value in {"loss": loss, **terms}.items():
                    sums[name] = sums.get(name, 0.0) + value.detach().double() * len(y)
                hits = logits_of(output).argmax(1) == targets_of(output, y)
                correct += hits.sum().double() * len(y) / len(hits)  # the copies of a sample share its weight
                seen += len(y)
            bar.update()
        bar.close()
        names = list(sums)
        totals = all_reduce_sum(
            torch.stack([sums[n] for n in names] + [correct, torch.tensor(seen, dtype=torch.float64)]),
            self.dist).tolist()
        n = totals[-1]
        row = {f"train_{name}" if name != "loss" else "train_loss": totals[i] / n
               for i, name in enumerate(names)}
        row["train_accuracy"] = 100.0 * totals[-2] / n
        row["train_images"] = int(n)
        return row

    def fit(self) -> dict[str, Any]:
        """Train to ``train.epochs`` (from the last checkpoint when resuming), then test the best checkpoint.
        Releases the run directory's lock when it returns or raises."""
        try:
            return self._fit()
        finally:
            self.close()

    def _fit(self) -> dict[str, Any]:
        identity = self.run.read_identity() if self.resume or self.run.exists() else None
        if self.resume:
            self.run_id = identity["run_id"] if identity else None
            self._load_last()
            self._log(f"resuming {self.run.root} after epoch {self.epoch}")
        elif self.dist.is_main:
            if self.replace:
                self.run.clear()
            self.run_id = (identity["run_id"] if identity and not self.replace
                           else self.run.start(self.cfg.to_dict()))
            self.run.truncate_metrics(0)  # a restart of a run killed in its first epoch
        while self.epoch < self.cfg.train.epochs:
            lr = self.optimizer.param_groups[0]["lr"]
            tic = time.perf_counter()
            row = self.train_epoch()
            seconds = time.perf_counter() - tic
            self.epoch += 1
            val = (evaluate(self.model, self.val_batches.epoch(), self.device, self.dist) if self.has_val
                   else None)
            row = {"epoch": self.epoch, **row, "val_loss": val["loss"] if val else None,
                   "val_accuracy": val["accuracy"] if val else None,
                   "lr": lr, "seconds": seconds, "images_per_second": row["train_images"] / seconds}
            # no validation split: the last epoch
            improved = val is None or val["accuracy"] > self.best_accuracy
            if improved:
                self.best_accuracy, self.best_epoch = val["accuracy"] if val else math.nan, self.epoch
            rng_by_rank = gather_objects(rng_state(), self.dist)  # each rank's dropout / routing stream
            if self.dist.is_main:
                self.run.append_metrics(row)
                model_state = self.model.state_dict()
                if improved:
                    save_checkpoint(self.run.best, self.cfg.to_dict(), model_state, epoch=self.epoch,
                                    val_accuracy=self.best_accuracy, run_id=self.run_id)
                save_checkpoint(self.run.last, self.cfg.to_dict(), model_state, **self._state(rng_by_rank))
            barrier(self.dist)
            val_text = f"val {val['accuracy']:.2f}%" if val else "no val split"
            self._log(f"epoch {self.epoch}/{self.cfg.train.epochs}  loss {row['train_loss']:.4f}  "
                      f"train {row['train_accuracy']:.2f}%  {val_text}  lr {lr:.4g}  "
                      f"{seconds:.1f}s  {row['images_per_second']:.0f} img/s")
        return self.finish()

    def finish(self) -> dict[str, Any]:
        """Evaluate the best checkpoint on the test split and write summary.json."""
        barrier(self.dist)
        # every epoch's training time, including those before a resume (a process only sees its own)
        seconds = sum(row["seconds"] for row in self.run.read_metrics())
        best = self._checked_checkpoint(self.run.best)
        self.model.load_state_dict(best["model_state"])
        test_batches = make_batcher(self.data.test, self.cfg.data, self.data.info, False, dist=self.dist)
        test = evaluate(self.model, test_batches.epoch(), self.device, self.dist)
        # the epoch and validation accuracy of the weights tested, as best.pt records them (a kill between
        # writing best.pt and last.pt can leave best.pt from an epoch that the resumed run trained again)
        val_accuracy = best["val_accuracy"] if self.has_val else None
        whole_test = make_batcher(self.data.test, self.cfg.data, self.data.info, False)  # every rank: all
        summary = {"model": self.cfg.model["name"], "dataset": self.cfg.data.dataset,
                   "epochs": self.cfg.train.epochs, "best_epoch": best["epoch"], "val_accuracy": val_accuracy,
                   "test_accuracy": test["accuracy"],
                   "test_loss": test["loss"], "test_n": test["n"], "params": count_params(self.model),
                   **cost_summary(self.model, whole_test, self.device), "train_seconds": seconds}
        if self.dist.is_main:
            self.run.write_summary(summary)
        barrier(self.dist)  # no rank leaves while the main rank is still writing
        val_text = f"val {val_accuracy:.2f}%" if self.has_val else "no val split"
        self._log(f"best epoch {best['epoch']}: {val_text}  test {test['accuracy']:.2f}%  "
                  f"params {summary['params']:,}  MACs/sample {summary['macs_per_sample']:,.0f}")
        return summary
