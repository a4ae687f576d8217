"""Every user error of the CLI exits 2 with one line naming the problem, no traceback.

These call ``main`` in-process (an uncaught exception would fail the test, so "no traceback" is
checked); tests/test_smoke_cli.py checks the same through a real subprocess for a few cases.
"""

import pytest
import torch

import condnet
from condnet.cli.main import main
from condnet.train import save_checkpoint

THIN = "configs/lenet_fmnist_thin.yaml"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch, request):
    monkeypatch.chdir(request.config.rootpath)


def _fails(capsys, argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"condnet {argv[0]}: error: ")
    assert needle in err


@pytest.mark.parametrize("argv, needle", [
    (["train"], "needs --config FILE.yaml"),
    (["train", "--resume"], "--resume needs --out DIR"),
    (["train", "--resume", "--out", "runs/x", "--set", "train.epochs=30"], "--set needs --config"),
    (["train", "--config", THIN, "--set", "train.epochs"], "--set expects section.key=value"),
    (["train", "--config", THIN, "--set", "train.epochs=0"], "train.epochs must be >= 1, got 0"),
    (["train", "--config", THIN, "--set", "train.schedule=linear"],
     "train.schedule must be one of constant, step, multistep, cosine"),
    (["train", "--config", THIN, "--set", "data.dataset=svhn"], "data.dataset must be one of fashion_mnist"),
    (["train", "--config", THIN, "--set", "model.width=2"], "has no option 'width'; valid options: dropout"),
    (["train", "--config", THIN, "--set", "model.name=resnet7"], "unknown model 'resnet7'"),
    (["train", "--config", THIN, "--set", "train.nesterov=true", "--set", "train.momentum=0"],
     "train.nesterov needs train.momentum > 0"),
    (["cost", "lenet_fmnist_thin", "--input-shape", "1,28"],
     "--input-shape needs 3 comma-separated integers"),
    (["cost", "lenet_fmnist_thin", "--input-shape", "a,b,c"],
     "--input-shape must be comma-separated integers"),
    (["cost", "lenet_fmnist_thin", "--input-shape", "1,4,4"], "cannot run on input shape 1,4,4"),
])
def test_argument_and_config_errors(capsys, tmp_path, argv, needle):
    if argv[0] == "train" and "--resume" not in argv and len(argv) > 1:
        argv = [*argv, "--out", str(tmp_path / "run")]
    _fails(capsys, argv, needle)
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_data_errors(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("CONDNET_DATA", raising=False)
    _fails(capsys,
           ["train", "--config", THIN, "--out", str(tmp_path / "r"), "--set", f"data.root={tmp_path}/x"],
           "fashion_mnist not found in the location data.root names. Looked in:")
    _fails(capsys, ["train", "--config", THIN, "--out", str(tmp_path / "r"), "--set", "data.dataset=mnist"],
           "mnist not found. Looked in: nowhere (no data.root, no CONDNET_DATA, no default location). "
           "To fix: set data.root")
    _fails(capsys, ["train", "--config", THIN, "--out", str(tmp_path / "r"), "--set", "data.val_size=60000"],
           "data.val_size must be in [0, 59999]")


def test_run_directory_errors(capsys, tmp_path):
    _fails(capsys, ["train", "--out", str(tmp_path / "none"), "--resume"], "nothing to resume")
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "config.yaml").write_text("model: {name: lenet_fmnist_thin}\n")
    _fails(capsys, ["train", "--config", THIN, "--out", str(tmp_path / "done")],
           "holds a run that stopped before its first epoch ended; "
           "continue it with --resume, or pass --force")
    _fails(capsys, ["eval", str(tmp_path / "done")], "holds no checkpoints/best.pt")


def test_checkpoint_errors(capsys, tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"junk")
    _fails(capsys, ["eval", str(tmp_path / "junk.pt")], "is not a readable condnet checkpoint")
    torch.save({"weights": torch.ones(1)}, tmp_path / "foreign.pt")
    _fails(capsys, ["eval", str(tmp_path / "foreign.pt")], "is not a condnet checkpoint")
    _fails(capsys, ["cost", str(tmp_path / "foreign.pt")], "is not a condnet checkpoint")
    thick = condnet.create_model("lenet_fmnist_thick")
    save_checkpoint(tmp_path / "mixed.pt", {"model": {"name": "lenet_fmnist_thin"}, "data": {}, "train": {}},
                    thick.state_dict())
    _fails(capsys, ["eval", str(tmp_path / "mixed.pt")], "the checkpoint belongs to another model")
