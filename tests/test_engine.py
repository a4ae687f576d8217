"""The training engine: run-directory files, determinism, resume after a hard kill, resume errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from condnet.config import load_config, parse_config
from condnet.data import dataset_info
from condnet.errors import CondnetError
from condnet.train import DataBundle, RunDir, Trainer, load_checkpoint, resolve_run_config
from condnet.train.checkpoint import save_checkpoint

ROOT = Path(__file__).parents[1]
THIN = ROOT / "configs" / "lenet_fmnist_thin.yaml"
VOLATILE = {"seconds", "images_per_second", "train_seconds"}  # wall-clock figures differ between runs


def _stable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def tiny(fmnist) -> DataBundle:
    train, test = fmnist
    return DataBundle(dataset_info("fashion_mnist"), train.subset(torch.arange(400)),
                      train.subset(torch.arange(59_000, 59_200)), test.subset(torch.arange(200)))


def _fit(tiny: DataBundle, out: Path, *overrides: str) -> dict:
    cfg = load_config(THIN, ["train.epochs=2", "data.batch_size=50", *overrides])
    return Trainer(cfg, out, verbose=False, data=tiny).fit()


def test_run_directory_and_same_seed_same_numbers(tiny, tmp_path):
    summary = _fit(tiny, tmp_path / "a")
    run = RunDir(tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [".lock", "checkpoints", "config.yaml",
                                                                  "metrics.jsonl", "run.json", "summary.json"]
    assert sorted(p.name for p in (tmp_path / "a" / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    saved = yaml.safe_load(run.config.read_text())
    assert saved["model"]["name"] == "lenet_fmnist_thin" and saved["model"]["num_classes"] == 10
    assert parse_config(saved).train.epochs == 2  # the resolved config is itself a valid config
    rows = run.read_metrics()
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "train_ce", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds",
            "images_per_second"} <= set(rows[0])
    assert rows[0]["train_images"] == 400 and rows[0]["train_loss"] == rows[0]["train_ce"]
    assert summary == json.loads(run.summary.read_text())
    assert summary["train_seconds"] == pytest.approx(rows[0]["seconds"] + rows[1]["seconds"])
    assert (summary["test_n"] == 200 and summary["params"] == 73_994
            and summary["macs_per_sample"] == 5_740_672)
    best = max(rows, key=lambda r: r["val_accuracy"])
    assert summary["best_epoch"] == best["epoch"] and summary["val_accuracy"] == best["val_accuracy"]
    assert load_checkpoint(run.best)["epoch"] == best["epoch"]
    last = load_checkpoint(run.last)
    assert last["epoch"] == 2 and {"optimizer", "scheduler", "rng"} <= set(last)

    again = _fit(tiny, tmp_path / "b")
    assert [_stable(r) for r in RunDir(tmp_path / "b").read_metrics()] == [_stable(r) for r in rows]
    assert _stable(again) == _stable(summary)
    other_seed = _fit(tiny, tmp_path / "c", "train.seed=1")
    assert _stable(other_seed) != _stable(summary)


def test_existing_run_and_resume_errors(tiny, tmp_path):
    cfg = load_config(THIN, ["train.epochs=1", "data.batch_size=50"])
    with pytest.raises(CondnetError, match="nothing to resume"):
        Trainer(cfg, tmp_path / "r", resume=True, data=tiny)
    Trainer(cfg, tmp_path / "r", verbose=False, data=tiny).fit()
    with pytest.raises(CondnetError,
                       match="already holds a finished run; choose another --out, or pass --force"):
        Trainer(cfg, tmp_path / "r", data=tiny)
    changed = load_config(THIN, ["train.epochs=1", "data.batch_size=50", "train.lr=0.2"])
    with pytest.raises(CondnetError, match="differs from .* in train.lr"):
        Trainer(changed, tmp_path / "r", resume=True, data=tiny)


def test_resume_of_a_finished_run_only_tests_its_best_checkpoint_again(tiny, tmp_path):
    first = _fit(tiny, tmp_path / "r")
    run = RunDir(tmp_path / "r")
    rows = run.read_metrics()
    run.summary.write_text("{}")  # e.g. a summary written by an older condnet
    again = Trainer(None, run.root, resume=True, verbose=False, data=tiny).fit()
    assert again == json.loads(run.summary.read_text()) and _stable(again) == _stable(first)
    assert run.read_metrics() == rows  # no epoch trained again


def test_summary_describes_the_checkpoint_it_tested(tiny, tmp_path):
    """best_epoch and val_accuracy come from best.pt, which a kill between the two checkpoint writes can
    leave from another epoch than the trainer's record."""
    _fit(tiny, tmp_path / "r")
    run = RunDir(tmp_path / "r")
    best = load_checkpoint(run.best)
    save_checkpoint(run.best, best.pop("config"), best.pop("model_state"), **{**best, "epoch": 1,
                                                                              "val_accuracy": 12.5})
    summary = Trainer(None, run.root, resume=True, verbose=False, data=tiny).fit()
    assert summary["best_epoch"] == 1 and summary["val_accuracy"] == 12.5


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_over(tiny, tmp_path):
    fresh = _fit(tiny, tmp_path / "fresh")
    cfg = load_config(THIN, ["train.epochs=2", "data.batch_size=50"])
    run = RunDir(tmp_path / "early")
    run.start(resolve_run_config(cfg).to_dict())  # what a run killed in epoch 1 leaves behind
    run.append_metrics({"epoch": 1, "stale": True})  # (killed between its metrics line and last.pt)
    again = Trainer(None, run.root, resume=True, verbose=False, data=tiny).fit()
    assert _stable(again) == _stable(fresh)
    fresh_metrics = RunDir(tmp_path / "fresh").read_metrics()
    assert [_stable(r) for r in run.read_metrics()] == [_stable(r) for r in fresh_metrics]


def test_metrics_line_cut_by_a_kill_is_ignored(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics({"epoch": 1, "val_accuracy": 50.0})
    with open(run.metrics, "a") as handle:
        handle.write('{"epoch": 2, "val_acc')
    assert run.read_metrics() == [{"epoch": 1, "val_accuracy": 50.0}]
    run.truncate_metrics(1)
    assert run.metrics.read_text() == '{"epoch": 1, "val_accuracy": 50.0}\n'


SMALL = ["train.threads=1", "data.limit_train=1000", "data.limit_test=300", "train.epochs=3",
         "data.batch_size=50"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "condnet.cli.main", *args]


def test_resume_after_kill_mid_epoch_matches_uninterrupted_run(tmp_path):
    out = tmp_path / "killed"
    sets = [a for s in SMALL for a in ("--set", s)]
    proc = subprocess.Popen(_cli("train", "--config", str(THIN), "--out", str(out), "--quiet", *sets),
                            cwd=ROOT)
    run = RunDir(out)
    deadline = time.monotonic() + 300
    while not run.last.exists():  # epoch 1 is done and checkpointed: kill during epoch 2
        assert proc.poll() is None and time.monotonic() < deadline, "training ended before the kill"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(run.read_metrics()) == 1 and load_checkpoint(run.last)["epoch"] == 1
    assert not run.summary.exists()

    resumed = subprocess.run(_cli("train", "--out", str(out), "--resume", "--quiet"), cwd=ROOT, check=False,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    full = Trainer(load_config(THIN, SMALL), tmp_path / "full", verbose=False).fit()
    assert [r["epoch"] for r in run.read_metrics()] == [1, 2, 3]
    full_metrics = RunDir(tmp_path / "full").read_metrics()
    assert [_stable(r) for r in run.read_metrics()] == [_stable(r) for r in full_metrics]
    summary = json.loads(run.summary.read_text())
    assert _stable(summary) == _stable(full)
    # the training time counts the epoch trained before the kill, not only those of the resumed process
    assert summary["train_seconds"] == pytest.approx(sum(r["seconds"] for r in run.read_metrics()))
