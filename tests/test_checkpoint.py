"""Checkpoints: atomic writes, weights_only loading, clear errors for corrupt, foreign or mismatched files."""

import os
import pickle

import pytest
import torch
from fake_files import ShellPayload

import condnet
from condnet.config import parse_config
from condnet.errors import CondnetError
from condnet.files import write_text_atomic
from condnet.train import load_checkpoint, resolve_run_config, save_atomic, save_checkpoint
from condnet.train.loading import load_run


def _config(name: str) -> dict:
    return resolve_run_config(parse_config({"model": {"name": name}})).to_dict()


def _save_model(path, name: str, state_of: str | None = None) -> None:
    model = condnet.create_model(state_of or name)
    save_checkpoint(path, _config(name), model.state_dict(), epoch=1)


def test_round_trip_and_no_temp_files(tmp_path):
    path = tmp_path / "ck" / "m.pt"
    _save_model(path, "lenet_fmnist_thin")
    assert os.listdir(tmp_path / "ck") == ["m.pt"]
    loaded = load_run(path)
    original = condnet.create_model("lenet_fmnist_thin")
    assert loaded.model.state_dict().keys() == original.state_dict().keys()
    assert loaded.config.model["name"] == "lenet_fmnist_thin" and not loaded.model.training
    assert load_checkpoint(path)["epoch"] == 1


def test_written_files_respect_umask(tmp_path):
    old = os.umask(0o027)
    try:
        save_atomic({"a": torch.ones(1)}, tmp_path / "m.pt")
        write_text_atomic(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "m.pt").stat().st_mode & 0o777 == 0o640  # 0666 minus umask 027, as plain open()
    assert (tmp_path / "t.txt").stat().st_mode & 0o777 == 0o640


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "m.pt"
    save_atomic({"a": torch.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):
        save_atomic({"a": lambda: 0}, path)  # cannot be pickled: fails mid-write
    assert os.listdir(tmp_path) == ["m.pt"] and path.read_bytes() == before


def test_truncated_checkpoint_refused(tmp_path):
    path = tmp_path / "m.pt"
    _save_model(path, "lenet_fmnist_thin")
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(CondnetError, match="is not a readable condnet checkpoint.*truncated"):
        load_checkpoint(path)


def test_garbage_file_refused(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CondnetError, match="not a readable condnet checkpoint"):
        load_checkpoint(path)


def test_pickled_custom_object_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    evil = {"format": "condnet-checkpoint-v1", "config": {}, "model_state": {}, "x": ShellPayload(marker)}
    torch.save(evil, path)
    with pytest.raises(CondnetError, match="holds Python objects that condnet will not unpickle") as refused:
        load_checkpoint(path)
    assert "weights_only" not in str(refused.value) and "\x1b" not in str(refused.value)  # nothing of torch's
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the payload is real: the unrestricted loader runs it
    assert marker.exists()


def test_plain_pickle_and_foreign_torch_file_refused(tmp_path):
    (tmp_path / "p.pt").write_bytes(pickle.dumps({"format": "condnet-checkpoint-v1"}))
    with pytest.raises(CondnetError, match="not a readable condnet checkpoint .a bare pickle"):
        load_checkpoint(tmp_path / "p.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CondnetError, match="no condnet-checkpoint-v1 tag"):
        load_checkpoint(tmp_path / "other.pt")


def test_tagged_file_without_config_refused(tmp_path):
    torch.save({"format": "condnet-checkpoint-v1", "model_state": {}}, tmp_path / "m.pt")
    with pytest.raises(CondnetError, match="lacks config"):
        load_run(tmp_path / "m.pt")


def test_checkpoint_of_another_model_refused(tmp_path):
    path = tmp_path / "m.pt"
    _save_model(path, "lenet_fmnist_thin", state_of="lenet_fmnist_thick")
    with pytest.raises(CondnetError, match="do not fit model 'lenet_fmnist_thin'.*another model"):
        load_run(path)


def test_missing_and_directory_without_best(tmp_path):
    with pytest.raises(CondnetError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(CondnetError, match="holds no checkpoints/best.pt"):
        load_run(tmp_path)
