"""Deriving a class hierarchy from a trained model (``condnet hierarchy``) and training an MNIST HNN on it."""

import json

import numpy as np
import pytest
import torch
from cli_process import assert_one_line_error
from fake_files import write_idx_dataset

from condnet.analysis.derived_hierarchy import confusion_matrix, derive_from_run
from condnet.cli.main import main
from condnet.data.hierarchy import derive, load_hierarchy
from condnet.errors import CondnetError
from condnet.models.hnn.network import HNN
from condnet.train import collect_logits, save_checkpoint
from condnet.train.loading import load_run

DIGITS = tuple(str(d) for d in range(10))


def test_confusion_matrix_counts_true_by_predicted():
    predictions, labels = torch.tensor([0, 1, 1, 2, 2, 0]), torch.tensor([0, 1, 2, 2, 2, 1])
    assert confusion_matrix(predictions, labels, 3).tolist() == [[1, 0, 0], [1, 1, 0], [0, 1, 2]]


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("mnist")
    data = write_idx_dataset(base / "data", n_train=300, n_test=40)
    run = base / "run"
    assert main(["train", "--config", "configs/lenet_mnist_thick.yaml", "--out", str(run), "--quiet",
                 "--set", "train.epochs=2", "--set", "train.threads=1", "--set", f"data.root={data}",
                 "--set", "data.val_size=80", "--set", "data.batch_size=20"]) == 0
    return run, data


def test_hierarchy_command_clusters_the_validation_confusions(mnist_run, tmp_path, capsys):
    run, _ = mnist_run
    out = tmp_path / "tree.yaml"
    capsys.readouterr()
    assert main(["hierarchy", str(run), "--out", str(out), "--groups", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    confusion = np.array(result["confusion"])
    loaded = load_run(run)
    logits, labels = collect_logits(loaded.model, loaded.batches("val").epoch())
    assert confusion.sum() == 80
    assert confusion.tolist() == confusion_matrix(logits.argmax(1), labels, 10).tolist()
    tree = load_hierarchy(out, DIGITS)
    assert tree == derive(confusion, DIGITS, 3) and result["tree"] == tree.to_dict()["tree"]
    assert len(tree.root.children) == 3


def test_mnist_hnn_trains_on_a_derived_hierarchy(mnist_run, tmp_path):
    run, data = mnist_run
    out = tmp_path / "tree.json"
    assert main(["hierarchy", str(run), "--out", str(out)]) == 0
    tree = load_hierarchy(out, DIGITS)
    hnn_run = tmp_path / "hnn"
    assert main(["train", "--config", "configs/hnn_lenet_mnist.yaml", "--out", str(hnn_run), "--quiet",
                 "--set", f"model.hierarchy={out}", "--set", "train.epochs=1", "--set", "train.threads=1",
                 "--set", f"data.root={data}", "--set", "data.val_size=80",
                 "--set", "data.batch_size=20"]) == 0
    loaded = load_run(hnn_run)
    hnn = loaded.model
    assert isinstance(hnn, HNN) and hnn.hierarchy == tree
    expert = hnn.cutout([0])
    config = {**loaded.config.to_dict(), "model": expert.condnet_config}
    save_checkpoint(tmp_path / "expert.pt", config, expert.state_dict())
    with pytest.raises(CondnetError, match="is an expert of"):
        derive_from_run(load_run(tmp_path / "expert.pt"))


@pytest.mark.parametrize("argv, needle", [
    (["hierarchy", "{run}", "--out", "{tmp}/tree.yaml", "--groups", "11"], "num_groups must be in 1..10"),
    (["hierarchy", "{tmp}/missing", "--out", "{tmp}/tree.yaml"], "missing"),
    (["cost", "hnn_lenet_mnist"], "condnet hierarchy RUN_DIR --out tree.yaml"),
])
def test_hierarchy_errors_one_line(mnist_run, tmp_path, argv, needle):
    argv = [a.format(run=mnist_run[0], tmp=tmp_path) for a in argv]
    assert_one_line_error(argv, needle)
    assert not (tmp_path / "tree.yaml").exists()
