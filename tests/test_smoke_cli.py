"""End-to-end: train a tiny run through the CLI, evaluate it, and check user errors exit cleanly."""

import json

import pytest
from cli_process import assert_one_line_error

from condnet.cli.main import main


def test_train_eval_tiny_run(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--config", "configs/lenet_fmnist_thin.yaml", "--out", str(out), "--quiet",
                 "--set", "train.epochs=1", "--set", "data.limit_train=600", "--set", "data.limit_test=300"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_n"] == 300 and summary["params"] == 73994 and summary["macs_per_sample"] == 5740672
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == pytest.approx(summary["test_accuracy"])
    assert result["n"] == 300


@pytest.mark.parametrize("argv, needle", [
    (["cost", "no_such_model"], "unknown model 'no_such_model'"),
    (["train", "--config", "missing.yaml"], "config file missing.yaml not found"),
    (["train", "--config", "configs/lenet_fmnist_thin.yaml", "--set", "train.lrr=1"],
     "unknown key train.lrr"),
    (["train", "--config", "configs/lenet_fmnist_thin.yaml", "--set", "train.optimizer=adam"],
     "train.optimizer must be one of sgd, adamw"),
    (["eval", "nowhere.pt"], "checkpoint nowhere.pt not found"),
])
def test_user_errors_one_line_no_traceback(argv, needle, tmp_path):
    assert_one_line_error(argv, needle)
