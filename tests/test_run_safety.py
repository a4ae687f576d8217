"""What keeps runs trustworthy, shown working (tests/test_bad_inputs.py shows the refusals): runs that
hold their class tree, one writer per run directory, --force, resume clean-up, strict JSON, training
without a validation split, a non-finite loss that keeps the last good checkpoint, attention on experts."""

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from condnet.cli.main import main
from condnet.config import load_config
from condnet.data import dataset_info
from condnet.data.hierarchy import BUILTIN_TREES, from_dict, save_hierarchy
from condnet.errors import CondnetError, RunDirError
from condnet.train import DataBundle, RunDir, Trainer, load_checkpoint
from condnet.train import engine as engine_module
from condnet.train.rundir import RunLock

ROOT = Path(__file__).parents[1]
CONFIGS = ROOT / "configs"
TINY = ["train.epochs=1", "train.threads=1", "data.batch_size=16", "data.eval_batch_size=64"]


@pytest.fixture(scope="module")
def tiny(fmnist) -> DataBundle:
    train, test = fmnist
    return DataBundle(dataset_info("fashion_mnist"), train.subset(torch.arange(96)),
                      train.subset(torch.arange(59_000, 59_064)), test.subset(torch.arange(64)))


def _fit(config: str, out: Path, data: DataBundle, *overrides: str, **kwargs) -> dict:
    return Trainer(load_config(CONFIGS / config, [*TINY, *overrides]), out, verbose=False, data=data,
                   **kwargs).fit()


def test_an_hnn_run_holds_its_tree_not_the_file(tiny, tmp_path, capsys):
    tree_file = tmp_path / "tree.yaml"
    save_hierarchy(from_dict({"tree": BUILTIN_TREES["fashion_mnist"]},
                             dataset_info("fashion_mnist").class_names), tree_file)
    _fit("hnn_lenet_fmnist.yaml", tmp_path / "run", tiny, f"model.hierarchy={tree_file}",
         "data.limit_test=64")
    saved = RunDir(tmp_path / "run").read_config()["model"]["hierarchy"]
    assert saved["classes"][0] == "T-shirt/top" and saved["tree"]["children"][0]["name"] == "clothing"
    assert main(["eval", str(tmp_path / "run"), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    tree_file.write_text("tree: {name: root, children: [Bag]}\n")  # edited after training: no effect
    assert main(["eval", str(tmp_path / "run"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == before["accuracy"]
    tree_file.unlink()
    assert main(["eval", str(tmp_path / "run"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == before["accuracy"]


def test_a_run_stores_its_data_root_and_normalisation(tiny, tmp_path):
    _fit("lenet_fmnist_thin.yaml", tmp_path / "run", tiny)
    data = RunDir(tmp_path / "run").read_config()["data"]
    assert data["root"] == "/usr/share/datasets/fashion-mnist"
    assert data["mean"] == [0.286] and data["std"] == [0.353]


def test_force_replaces_a_run_and_gives_the_same_numbers(tiny, tmp_path):
    first = _fit("lenet_fmnist_thin.yaml", tmp_path / "run", tiny)
    first_id = RunDir(tmp_path / "run").read_identity()["run_id"]
    with pytest.raises(RunDirError, match="already holds a finished run"):
        _fit("lenet_fmnist_thin.yaml", tmp_path / "run", tiny)
    again = _fit("lenet_fmnist_thin.yaml", tmp_path / "run", tiny, force=True)
    run = RunDir(tmp_path / "run")
    assert run.read_identity()["run_id"] != first_id
    assert load_checkpoint(run.last)["run_id"] == run.read_identity()["run_id"]
    assert [r["epoch"] for r in run.read_metrics()] == [1]
    assert again["test_accuracy"] == first["test_accuracy"]


def test_lock_is_exclusive_and_released_by_a_killed_holder(tmp_path):
    run = RunDir(tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from condnet.train.rundir import RunDir, RunLock; "
        f"lock = RunLock(RunDir({str(run.root)!r})).acquire(); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunDirError, match=f"in use by process {holder.pid}"):
        RunLock(run).acquire()
    holder.kill()
    holder.wait()
    deadline = time.monotonic() + 10
    while True:  # the kernel drops a dead process's flock
        try:
            lock = RunLock(run).acquire()
            break
        except RunDirError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert "condnet train" in run.lock_file.read_text()
    lock.release()
    assert run.lock_file.read_text() == ""


def test_a_refused_train_leaves_no_directory(tmp_path):
    with pytest.raises(CondnetError):
        Trainer(load_config(CONFIGS / "lenet_fmnist_thin.yaml", ["data.dataset=mnist"]), tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_resume_removes_temp_files_of_an_interrupted_write(tiny, tmp_path):
    _fit("lenet_fmnist_thin.yaml", tmp_path / "run", tiny, "train.epochs=2", "data.limit_train=48")
    run = RunDir(tmp_path / "run")
    leftovers = [run.root / ".summary.json.abc.tmp", run.last.parent / ".last.pt.xyz.tmp"]
    for path in leftovers:
        path.write_bytes(b"half")
    Trainer(None, run.root, resume=True, verbose=False, data=tiny).fit()
    assert not any(path.exists() for path in leftovers)


def test_metrics_and_summary_are_strict_json(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics({"epoch": 1, "val_accuracy": math.nan, "val_loss": math.inf})
    run.write_summary({"val_accuracy": -math.inf})
    text = run.metrics.read_text() + run.summary.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert run.read_metrics() == [{"epoch": 1, "val_accuracy": None, "val_loss": None}]
    assert json.loads(run.summary.read_text()) == {"val_accuracy": None}


def test_without_a_validation_split_the_last_epoch_is_kept(fmnist, tmp_path):
    train, test = fmnist
    data = DataBundle(dataset_info("fashion_mnist"), train.subset(torch.arange(96)),
                      train.subset(torch.arange(0)), test.subset(torch.arange(64)))
    summary = _fit("lenet_fmnist_thin.yaml", tmp_path / "run", data, "train.epochs=2", "data.val_size=0")
    run = RunDir(tmp_path / "run")
    assert summary["best_epoch"] == 2 and summary["val_accuracy"] is None
    assert [r["val_accuracy"] for r in run.read_metrics()] == [None, None]
    assert load_checkpoint(run.best)["epoch"] == 2


def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny, tmp_path, monkeypatch):
    real = engine_module.training_losses
    trainer = Trainer(load_config(CONFIGS / "lenet_fmnist_thin.yaml", [*TINY, "train.epochs=3"]),
                      tmp_path / "run", verbose=False, data=tiny)

    def diverging(model, output, targets, label_smoothing=0.0):
        terms = real(model, output, targets, label_smoothing)
        return {k: v * math.nan for k, v in terms.items()} if trainer.epoch == 1 else terms

    monkeypatch.setattr(engine_module, "training_losses", diverging)
    with pytest.raises(CondnetError, match="became nan at epoch 2, step 1; .*last.pt still holds epoch 1"):
        trainer.fit()
    run = RunDir(tmp_path / "run")
    assert load_checkpoint(run.last)["epoch"] == 1 and [r["epoch"] for r in run.read_metrics()] == [1]
    RunLock(run).acquire().release()  # the lock was released


def test_device_auto_picks_a_device_this_machine_has(capsys):
    assert main(["cost", "lenet_fmnist_thin", "--device", "auto", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["macs_per_sample"] == 5_740_672


def test_attend_on_an_expert_scores_its_own_classes(tiny, tmp_path, capsys):
    _fit("hnn_lenet_fmnist.yaml", tmp_path / "run", tiny, "data.limit_test=200")
    expert = str(tmp_path / "e.pt")
    assert main(["cutout", str(tmp_path / "run"), "--classes", "footwear,Bag", "--out", expert]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "e.pt"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert main(["attend", str(tmp_path / "e.pt"), "--protocol", "group-cue", "--gains", "1", "--json"]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert sweep["n"] == evaluated["n"] > 0
    assert sweep["no_signal_accuracy"] == pytest.approx(evaluated["accuracy"])
    assert sweep["accuracy"] == [pytest.approx(evaluated["accuracy"])]  # gain 1 changes nothing
