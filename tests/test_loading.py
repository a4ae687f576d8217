"""A loaded run (``load_run``): its data is read only when asked for, and at most once."""

import dataclasses

import pytest
import torch

from condnet.errors import ConfigError
from condnet.train import loading
from condnet.train.loading import load_run


@pytest.fixture
def reads(monkeypatch) -> list:
    """The data configs ``load_data`` was called with while the test ran."""
    calls = []
    real = loading.load_data

    def counting(cfg):
        calls.append(cfg)
        return real(cfg)

    monkeypatch.setattr(loading, "load_data", counting)
    return calls


def test_data_is_read_once_and_only_when_asked(hnn_run, reads):
    loaded = load_run(hnn_run)
    assert loaded.path == hnn_run / "checkpoints" / "best.pt" and not loaded.model.training
    assert loaded.config.model["name"] == "hnn_lenet_fmnist" and reads == []
    test, val = loaded.batches(), loaded.batches("val")
    assert reads == [loaded.config.data]
    assert test.split is loaded.split("test") and val.split is loaded.split("val") and len(test.split) == 300
    assert not test.shuffle and test.batch_size == loaded.config.data.eval_batch_size
    assert loaded.test_images(7).shape == (7, 1, 28, 28) and len(reads) == 1


def test_unknown_or_empty_splits_are_clear_errors(hnn_run, reads):
    loaded = load_run(hnn_run)
    with pytest.raises(ConfigError, match="unknown split 'nope'; choose one of test, val, train"):
        loaded.split("nope")
    loaded.data = dataclasses.replace(loaded.data, val=loaded.data.val.subset(torch.arange(0)))
    with pytest.raises(ConfigError, match=r"val split is empty \(data.val_size is 0\); use --split test"):
        loaded.batches("val")
    assert len(reads) == 1
