"""DDP: a 2-process torchrun run on CPU (gloo) trains, and only rank 0 writes the run directory."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from condnet.train import RunDir, load_checkpoint
from condnet.train.distributed import local_device

ROOT = Path(__file__).parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")


SETS = ["train.threads=1", "data.limit_train=600", "data.limit_test=200", "train.epochs=2",
        "data.batch_size=100", "train.device=cpu"]
needs_torchrun = pytest.mark.skipif(not TORCHRUN.exists(),
                                    reason="torchrun not installed beside the interpreter")


def _torchrun(*args: str, sets: list[str] = SETS) -> list[str]:
    return [str(TORCHRUN), "--standalone", "--nproc_per_node", "2", "-m", "condnet.cli.main", "train", *args,
            *[a for s in sets for a in ("--set", s)]]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@needs_torchrun
def test_torchrun_two_processes_gloo(tmp_path):
    out = tmp_path / "ddp"
    proc = _run(_torchrun("--config", "configs/lenet_fmnist_thin.yaml", "--out", str(out)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    # only rank 0 logs: one line per epoch and one final line, not two of each
    epochs = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("epoch")]
    assert epochs == ["1/2", "2/2"]
    assert sum(line.startswith("best epoch") for line in proc.stdout.splitlines()) == 1

    run = RunDir(out)
    rows = run.read_metrics()
    assert [r["epoch"] for r in rows] == [1, 2]  # appended by one process only
    assert all(r["train_images"] == 600 for r in rows)  # 2 shards of 300 (batches of 100 / 2 ranks), summed
    assert sorted(p.name for p in out.rglob("*")) == [".lock", "best.pt", "checkpoints", "config.yaml",
                                                      "last.pt", "metrics.jsonl", "run.json", "summary.json"]
    summary = json.loads(run.summary.read_text())
    assert (summary["test_n"] == 200 and summary["params"] == 73_994
            and summary["macs_per_sample"] == 5_740_672)
    assert 0.0 <= summary["test_accuracy"] <= 100.0 and summary["best_epoch"] in (1, 2)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]  # it learned
    assert load_checkpoint(run.last)["epoch"] == 2


@needs_torchrun
def test_torchrun_summary_costs_cover_every_test_image(tmp_path):
    """A routed model's MAC distribution is taken over the whole test split, not rank 0's shard of it."""
    out = tmp_path / "ddp_cigt"
    sets = [s for s in SETS if not s.startswith(("data.limit_test", "train.epochs"))]
    proc = _run(_torchrun("--config", "configs/cigt_lenet_fmnist.yaml", "--out", str(out),
                          sets=[*sets, "data.limit_test=101", "train.epochs=1", "model.warmup_epochs=0"]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(RunDir(out).summary.read_text())
    assert summary["test_n"] == 101 and sum(summary["macs"]["histogram"]["counts"]) == 101


def test_each_process_takes_the_gpu_of_its_local_rank(monkeypatch):
    made_current = []
    monkeypatch.setattr(torch.cuda, "set_device", made_current.append)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert local_device(torch.device("cuda")) == torch.device("cuda")  # not under torchrun
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert local_device(torch.device("cpu")) == torch.device("cpu")
    assert local_device(torch.device("cuda")) == torch.device("cuda", 1)
    assert made_current == [torch.device("cuda", 1)]


def _stable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_second")} for r in rows]


@pytest.mark.slow
@needs_torchrun
def test_torchrun_resume_after_kill_matches_uninterrupted(tmp_path):
    # dropout 0.185: RNG matters
    sets = [*SETS[:-3], "train.epochs=3", "data.batch_size=50", "train.device=cpu"]
    config = ("--config", "configs/lenet_fmnist_thin.yaml")
    full = _run(_torchrun(*config, "--out", str(tmp_path / "full"), sets=sets))
    assert full.returncode == 0, full.stderr[-3000:]
    out = tmp_path / "killed"
    proc = subprocess.Popen(_torchrun(*config, "--out", str(out), "--quiet", sets=sets), cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    run = RunDir(out)
    deadline = time.monotonic() + 300
    while not run.last.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "training ended before the kill"
        time.sleep(0.02)
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True,
                             check=False).stdout
    assert len(workers.split()) == 2
    for pid in [*map(int, workers.split()), proc.pid]:  # the workers run in sessions of their own: kill each
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    time.sleep(3)  # nothing may still be training
    assert load_checkpoint(run.last)["epoch"] == 1 and len(load_checkpoint(run.last)["rng"]) == 2
    assert len(run.read_metrics()) == 1
    resumed = _run(_torchrun("--out", str(out), "--resume", sets=[]))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _stable(run.read_metrics()) == _stable(RunDir(tmp_path / "full").read_metrics())
    assert json.loads(run.summary.read_text())["test_accuracy"] == \
        json.loads((tmp_path / "full" / "summary.json").read_text())["test_accuracy"]
