"""The training engine: one loop for every model, single process or DDP under torchrun."""

import math
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
from condnet.errors import CondnetError
from condnet.seeding import rng_state, seed_everything, set_rng_state
from condnet.train.checkpoint import load_checkpoint, save_checkpoint
from condnet.train.distributed import all_reduce_sum, barrier, gather_objects, init_distributed, local_device
from condnet.train.objective import evaluate, logits_of, targets_of, training_losses
from condnet.train.optim import build_optimizer, build_scheduler
from condnet.train.rundir import RunDir
from condnet.train.setup import DataBundle, build_model, load_data, make_batcher, resolve_run_config
from condnet.train.summary import cost_summary


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Trains ``cfg`` into ``out_dir``; ``resume=True`` continues from ``out_dir``'s last checkpoint."""

    def __init__(self, cfg: RunConfig, out_dir: str | Path, resume: bool = False, verbose: bool = True,
                 data: DataBundle | None = None) -> None:
        self.run = RunDir(out_dir)
        if resume:
            cfg = self._resume_config(cfg)
            resume = self.run.last.exists()  # killed before the first checkpoint: start over, same config
        elif self.run.exists():
            raise CondnetError(f"{self.run.root} already holds a run; pass --resume to continue it or choose "
                               "another --out")
        self.cfg = resolve_run_config(cfg)
        self.resume, self.verbose = resume, verbose
        self.device = local_device(_device(self.cfg.train.device))
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
        self.steps_per_epoch = self.train_batches.num_batches()
        if self.steps_per_epoch == 0:
            raise CondnetError("the training split is empty or smaller than 2 images; lower data.val_size or "
                               "raise data.limit_train")
        self.optimizer = build_optimizer(self.model, self.cfg.train)
        self.scheduler = build_scheduler(self.optimizer, self.cfg.train, self.steps_per_epoch)
        self.wrapped: nn.Module = self.model
        if self.dist.enabled:
            self.wrapped = DistributedDataParallel(
                self.model, find_unused_parameters=self.cfg.train.find_unused_parameters)
        self.epoch, self.best_accuracy, self.best_epoch = 0, -math.inf, 0

    def _resume_config(self, cfg: RunConfig | None) -> RunConfig:
        if not self.run.exists():
            raise CondnetError(f"nothing to resume in {self.run.root} (no config.yaml); "
                               "start the run without --resume")
        saved = parse_config(self.run.read_config())
        if cfg is not None:
            given = resolve_run_config(cfg).to_dict()
            differing = [f"{s}.{k}" for s in given for k in given[s] if given[s][k] != saved.to_dict()[s].get(k)]
            if differing:
                raise CondnetError(f"--resume with a config that differs from {self.run.config} in "
                                   f"{', '.join(differing)}; resume without --config or start a new --out")
        return saved

    def _state(self, rng_by_rank: list[dict[str, Any]]) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch, "best_accuracy": self.best_accuracy, "best_epoch": self.best_epoch,
                "rng": rng_by_rank}

    def _load_last(self) -> None:
        state = load_checkpoint(self.run.last)
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.best_accuracy, self.best_epoch = state["epoch"], state["best_accuracy"], state["best_epoch"]
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
        bar = tqdm(total=self.steps_per_epoch, desc=f"epoch {self.epoch + 1}/{self.cfg.train.epochs}",
                   leave=False, disable=not (self.verbose and self.dist.is_main and sys.stdout.isatty()))
        for step, (x, y) in enumerate(self.train_batches.epoch(self.epoch)):
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            if hook is not None:
                hook(self.epoch, self.epoch * self.steps_per_epoch + step)
            output = self.wrapped(x)
            terms = training_losses(self.model, output, y, self.cfg.train.label_smoothing)
            loss = sum(terms.values())
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
        totals = all_reduce_sum(torch.stack([sums[n] for n in names] + [correct, torch.tensor(seen, dtype=torch.float64)]),
                                self.dist).tolist()
        n = totals[-1]
        row = {f"train_{name}" if name != "loss" else "train_loss": totals[i] / n for i, name in enumerate(names)}
        row["train_accuracy"] = 100.0 * totals[-2] / n
        row["train_images"] = int(n)
        return row

    def fit(self) -> dict[str, Any]:
        """Train to ``train.epochs`` (from the last checkpoint when resuming), then test the best checkpoint."""
        if self.resume:
            self._load_last()
            self._log(f"resuming {self.run.root} after epoch {self.epoch}")
        elif self.dist.is_main:
            self.run.write_config(self.cfg.to_dict())
            self.run.truncate_metrics(0)  # a restart of a run killed in its first epoch
        start = time.perf_counter()
        while self.epoch < self.cfg.train.epochs:
            lr = self.optimizer.param_groups[0]["lr"]
            tic = time.perf_counter()
            row = self.train_epoch()
            seconds = time.perf_counter() - tic
            self.epoch += 1
            val = evaluate(self.model, self.val_batches.epoch(), self.device, self.dist)
            row = {"epoch": self.epoch, **row, "val_loss": val["loss"], "val_accuracy": val["accuracy"],
                   "lr": lr, "seconds": seconds, "images_per_second": row["train_images"] / seconds}
            improved = val["accuracy"] > self.best_accuracy
            if improved:
                self.best_accuracy, self.best_epoch = val["accuracy"], self.epoch
            rng_by_rank = gather_objects(rng_state(), self.dist)  # each rank's dropout / routing stream
            if self.dist.is_main:
                self.run.append_metrics(row)
                model_state = self.model.state_dict()
                if improved:
                    save_checkpoint(self.run.best, self.cfg.to_dict(), model_state, epoch=self.epoch,
                                    val_accuracy=val["accuracy"])
                save_checkpoint(self.run.last, self.cfg.to_dict(), model_state, **self._state(rng_by_rank))
            barrier(self.dist)
            self._log(f"epoch {self.epoch}/{self.cfg.train.epochs}  loss {row['train_loss']:.4f}  "
                      f"train {row['train_accuracy']:.2f}%  val {val['accuracy']:.2f}%  lr {lr:.4g}  "
                      f"{seconds:.1f}s  {row['images_per_second']:.0f} img/s")
        return self.finish(time.perf_counter() - start)

    def finish(self, seconds: float) -> dict[str, Any]:
        """Evaluate the best checkpoint on the test split and write summary.json."""
        barrier(self.dist)
        best = load_checkpoint(self.run.best)
        self.model.load_state_dict(best["model_state"])
        test_batches = make_batcher(self.data.test, self.cfg.data, self.data.info, False, dist=self.dist)
        test = evaluate(self.model, test_batches.epoch(), self.device, self.dist)
        summary = {"model": self.cfg.model["name"], "dataset": self.cfg.data.dataset,
                   "epochs": self.cfg.train.epochs, "best_epoch": self.best_epoch,
                   "val_accuracy": self.best_accuracy, "test_accuracy": test["accuracy"],
                   "test_loss": test["loss"], "test_n": test["n"], "params": count_params(self.model),
                   **cost_summary(self.model, test_batches, self.device), "train_seconds": seconds}
        if self.dist.is_main:
            self.run.write_summary(summary)
        self._log(f"best epoch {self.best_epoch}: val {self.best_accuracy:.2f}%  test {test['accuracy']:.2f}%  "
                  f"params {summary['params']:,}  MACs/sample {summary['macs_per_sample']:,.0f}")
        return summary
