"""Shared fixtures: a small slice of the real Fashion-MNIST (installed by scripts/setup.sh)."""

import pytest
import torch

from condnet.data import load_dataset


@pytest.fixture(scope="session")
def fmnist():
    """(train, test) splits of the real Fashion-MNIST."""
    return load_dataset("fashion_mnist")


@pytest.fixture(autouse=True)
def _fast_threads():
    torch.set_num_threads(1)
    yield
