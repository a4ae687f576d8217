"""DDP: a 2-process torchrun run on CPU (gloo) trains, and only rank 0 writes the run directory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from condnet.train import RunDir, load_checkpoint
from condnet.train.distributed import local_device

ROOT = Path(__file__).parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed beside the interpreter")
def test_torchrun_two_processes_gloo(tmp_path):
    out = tmp_path / "ddp"
    sets = ["train.threads=1", "data.limit_train=600", "data.limit_test=200", "train.epochs=2",
            "data.batch_size=100", "train.device=cpu"]
    proc = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc_per_node", "2", "-m", "condnet.cli.main", "train",
         "--config", "configs/lenet_fmnist_thin.yaml", "--out", str(out),
         *[a for s in sets for a in ("--set", s)]],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # only rank 0 logs: one line per epoch and one final line, not two of each
    assert [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("epoch")] == ["1/2", "2/2"]
    assert sum(line.startswith("best epoch") for line in proc.stdout.splitlines()) == 1

    run = RunDir(out)
    rows = run.read_metrics()
    assert [r["epoch"] for r in rows] == [1, 2]  # appended by one process only
    assert all(r["train_images"] == 600 for r in rows)  # 2 shards of 300 (batches of 100 / 2 ranks), summed
    assert sorted(p.name for p in out.rglob("*")) == ["best.pt", "checkpoints", "config.yaml", "last.pt",
                                                      "metrics.jsonl", "summary.json"]
    summary = json.loads(run.summary.read_text())
    assert summary["test_n"] == 200 and summary["params"] == 73_994 and summary["macs_per_sample"] == 5_740_672
    assert 0.0 <= summary["test_accuracy"] <= 100.0 and summary["best_epoch"] in (1, 2)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]  # it learned
    assert load_checkpoint(run.last)["epoch"] == 2


def test_each_process_takes_the_gpu_of_its_local_rank(monkeypatch):
    made_current = []
    monkeypatch.setattr(torch.cuda, "set_device", made_current.append)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert local_device(torch.device("cuda")) == torch.device("cuda")  # not under torchrun
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert local_device(torch.device("cpu")) == torch.device("cpu")
    assert local_device(torch.device("cuda")) == torch.device("cuda", 1)
    assert made_current == [torch.device("cuda", 1)]
