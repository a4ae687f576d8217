"""Shared fixtures: the real Fashion-MNIST and a tiny HNN run trained on it."""

import pytest
import torch

from condnet.cli.main import main
from condnet.data import load_dataset


@pytest.fixture(scope="session")
def fmnist():
    """(train, test) splits of the real Fashion-MNIST."""
    return load_dataset("fashion_mnist")


@pytest.fixture(scope="session")
def hnn_run(tmp_path_factory):
    """A run directory of hnn_lenet_fmnist trained for 1 epoch on 500 images (300 test images)."""
    out = tmp_path_factory.mktemp("hnn") / "run"
    assert main(["train", "--config", "configs/hnn_lenet_fmnist.yaml", "--out", str(out), "--quiet",
                 "--set", "train.epochs=1", "--set", "data.limit_train=500",
                 "--set", "data.limit_test=300"]) == 0
    return out


@pytest.fixture(autouse=True)
def _fast_threads():
    torch.set_num_threads(1)
    yield
