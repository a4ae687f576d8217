"""The user's own data (data.dataset folder / arrays): reading, what a run stores, every bad-input error, and
train -> eval -> cutout -> export -> bench through the CLI, each in its own process."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from cli_process import REPO, assert_one_line_error
from fake_files import class_images, image_arrays, write_image_folder
from PIL import Image

from condnet.config import DataConfig, parse_config
from condnet.data import data_info, read_user_data
from condnet.errors import ConfigError, DataError, DataNotFoundError
from condnet.train.setup import load_data, resolve_run_config

NAMES = ("cat", "dog", "fox", "owl")
TREE = {"tree": {"name": "root", "children": [{"name": "pets", "children": ["cat", "dog"]},
                                              {"name": "wild", "children": ["fox", "owl"]}]}}
HNN = {"name": "hnn_lenet_fmnist", "conv": [8, 16, 16], "fc": [32, 16], "hierarchy": TREE}


def _npz(path: Path, **changes) -> Path:
    """The arrays of fake_files.image_arrays (4 classes, named), with keys replaced (or dropped: None)."""
    arrays = {**image_arrays(), "class_names": np.array(NAMES)}
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _cfg(kind: str, root: Path, **keys) -> DataConfig:
    return DataConfig(dataset=kind, root=str(root), val_size=8, **keys)


# ---- reading ---------------------------------------------------------------------------------------

def test_folder_reads_classes_labels_and_stats(tmp_path):
    root = write_image_folder(tmp_path / "tree")
    data = read_user_data(_cfg("folder", root))
    assert data.info.class_names == NAMES and data.info.shape == (1, 16, 16) and data.val is None
    assert data.train.images.shape == (80, 1, 16, 16) and data.train.images.dtype == torch.uint8
    images, labels = class_images(4, 20)
    assert torch.equal(data.train.images[:, 0], torch.from_numpy(images))
    assert torch.equal(data.train.labels, torch.from_numpy(labels)) and len(data.test) == 24
    assert data.info.mean == pytest.approx([(images / 255).mean()])
    assert data.info.std == pytest.approx([(images / 255).std()])


def test_folder_channels_resize_and_own_val(tmp_path):
    root = write_image_folder(tmp_path / "tree", n_val=2)
    Image.new("RGB", (16, 16), (200, 10, 10)).save(root / "train" / "owl" / "red.png")
    assert data_info(_cfg("folder", root)).shape == (3, 16, 16)  # one colour image: RGB
    gray = read_user_data(_cfg("folder", root, channels=1, image_size=8))
    assert gray.info.shape == (1, 8, 8) and gray.train.images.shape == (81, 1, 8, 8)
    bundle = load_data(_cfg("folder", root, channels=1))
    assert len(bundle.val) == 8 and len(bundle.train) == 81  # root/val is the validation split: none carved


def test_arrays_layouts_and_class_names(tmp_path):
    rgb = image_arrays(channels=3)
    last = read_user_data(_cfg("arrays", _npz(tmp_path / "last.npz", **rgb)))
    first = {k: v.transpose(0, 3, 1, 2) if k.startswith("x_") else v for k, v in rgb.items()}
    assert torch.equal(read_user_data(_cfg("arrays", _npz(tmp_path / "first.npz", **first))).train.images,
                       last.train.images)
    assert last.info.shape == (3, 16, 16) and last.info.class_names == NAMES
    pixels = rgb["x_train"] / 255
    assert last.info.mean == pytest.approx(pixels.mean((0, 1, 2))) and last.info.std == pytest.approx(
        pixels.std((0, 1, 2)))
    unnamed = read_user_data(_cfg("arrays", _npz(tmp_path / "gray.npz", class_names=None)))
    assert unnamed.info.class_names == ("0", "1", "2", "3") and unnamed.info.shape == (1, 16, 16)


def test_run_config_stores_kind_root_channels_and_stats(tmp_path, monkeypatch):
    write_image_folder(tmp_path / "tree")
    monkeypatch.chdir(tmp_path)
    cfg = parse_config({"model": HNN, "data": {"dataset": "folder", "root": "tree", "val_size": 8}})
    resolved = resolve_run_config(cfg, locate_data=True)
    assert resolved.data.root == str(tmp_path / "tree") and resolved.data.channels == 1
    assert resolved.data.mean == list(data_info(cfg.data).mean) and len(resolved.data.std) == 1
    assert [resolved.model[k] for k in ("in_channels", "input_size", "num_classes")] == [1, 16, 4]
    assert resolve_run_config(parse_config(resolved.to_dict())).to_dict() == resolved.to_dict()


# ---- errors ----------------------------------------------------------------------------------------

def _folder_case(tmp_path: Path, case: str) -> Path:
    root = write_image_folder(tmp_path / "tree")
    if case == "empty class":
        (root / "train" / "emu").mkdir()
    elif case == "unreadable":
        (root / "test" / "cat" / "bad.png").write_bytes(b"not an image")
    elif case == "truncated":
        dog = root / "train" / "dog"
        (dog / "000.png").write_bytes((dog / "001.png").read_bytes()[:80])
    elif case == "mixed sizes":
        Image.new("L", (20, 18)).save(root / "train" / "dog" / "big.png")
    elif case == "unknown test class":
        (root / "test" / "emu").mkdir()
        Image.new("L", (16, 16)).save(root / "test" / "emu" / "x.png")
    elif case == "16 bit":
        Image.fromarray(np.zeros((16, 16), np.uint16)).save(root / "train" / "cat" / "deep.png")
    elif case == "no test":
        (root / "test").rename(root / "tests")
    return root


@pytest.mark.parametrize("case, error, needle", [
    ("empty class", DataError, "class folder {root}/train/emu holds no images"),
    ("unreadable", DataError, "cannot read image {root}/test/cat/bad.png"),
    ("truncated", DataError, "cannot read image {root}/train/dog/000.png"),
    ("mixed sizes", DataError, "{root}/train/cat/000.png is 16x16, {root}/train/dog/big.png is 20x18; resize "
                               "them all with --set data.image_size=N"),
    ("unknown test class", DataError, "class 'emu' is unknown in training"),
    ("16 bit", DataError, "{root}/train/cat/deep.png has I;16 pixels"),
    ("no test", DataNotFoundError, "{root} has no test/ folder"),
])
def test_folder_errors(tmp_path, case, error, needle):
    root = _folder_case(tmp_path, case)
    with pytest.raises(error) as err:
        read_user_data(_cfg("folder", root))
    assert needle.format(root=root) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("changes, needle", [
    ({"y_test": np.full(24, 4)}, "y_test holds label 4, outside the classes 0..3 (class_names)"),
    ({"y_train": np.full(80, -1)}, "y_train holds label -1"),
    ({"y_test": np.full(24, 4), "class_names": None}, "outside the classes 0..3 (the labels in y_train)"),
    ({"y_train": np.repeat([0, 1, 3, 3], 20)}, "y_train has no image of class 2 ('fox')"),
    ({"x_train": np.zeros((80, 16, 16), np.float32)}, "x_train has dtype float32, not uint8"),
    ({"x_test": np.zeros((24, 16, 16, 2), np.uint8)}, "x_test has shape (24, 16, 16, 2)"),
    ({"x_test": np.zeros((24, 8, 8), np.uint8)}, "the splits' images differ in shape"),
    ({"y_test": np.zeros(23, np.int64)}, "y_test has shape (23,) for the 24 images of x_test"),
    ({"y_train": np.zeros(80)}, "y_train has dtype float64; labels must be integers"),
    ({"x_test": None}, "has no x_test; an arrays dataset needs"),
    ({"x_val": np.zeros((4, 16, 16), np.uint8)}, "has no y_val"),
    ({"extra": np.zeros(3)}, "holds 'extra', which an arrays dataset does not take"),
    ({"class_names": np.array(["a", "b", "a", "c"])}, "class_names lists 'a' more than once"),
    ({"class_names": np.array([1, 2, 3, 4])}, "store the names as a 1-D array of strings"),
])
def test_arrays_errors(tmp_path, changes, needle):
    with pytest.raises(DataError) as err:
        read_user_data(_cfg("arrays", _npz(tmp_path / "d.npz", **changes)))
    assert needle in str(err.value) and str(tmp_path / "d.npz") in str(err.value)


def test_arrays_file_errors(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    np.save(tmp_path / "one.npy", np.zeros(3))
    for name, needle in (("text.npz", "cannot read"), ("one.npy", "a single array, not a .npz")):
        with pytest.raises(DataError, match=needle):
            read_user_data(_cfg("arrays", tmp_path / name))
    with pytest.raises(DataNotFoundError, match="is not a file; an arrays dataset needs a .npz"):
        read_user_data(_cfg("arrays", tmp_path / "none.npz"))


@pytest.mark.parametrize("data, needle", [
    ({"dataset": "folder"}, "data.dataset folder needs data.root"),
    ({"dataset": "arrays", "root": "x.npz", "image_size": 8}, "data.channels and data.image_size are for"),
    ({"dataset": "mnist", "channels": 3}, "mnist images have a fixed shape"),
    ({"dataset": "folder", "root": "t", "channels": 2}, "data.channels must be 1 or 3, got 2"),
    ({"dataset": "folder", "root": "t", "image_size": 0}, "data.image_size must be >= 1, got 0"),
])
def test_config_errors(data, needle):
    with pytest.raises(ConfigError, match=needle):
        data_info(parse_config({"model": HNN, "data": data}).data)


def _write_config(folder: Path, kind: str, root: str) -> Path:
    config = {"model": HNN, "data": {"dataset": kind, "root": root, "val_size": 8, "batch_size": 8},
              "train": {"epochs": 1, "threads": 1}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder / "config.yaml"


@pytest.mark.parametrize("kind, case, needle", [
    ("folder", "empty class", "holds no images"),
    ("folder", "unreadable", "bad.png (cannot identify image file"),
    ("folder", "mixed sizes", "--set data.image_size=N"),
    ("folder", "unknown test class", "class 'emu' is unknown in training"),
    ("arrays", "label out of range", "y_test holds label 4, outside the classes 0..3"),
])
def test_cli_errors_one_line(tmp_path, kind, case, needle):
    if kind == "folder":
        root = _folder_case(tmp_path, case)
    else:
        root = _npz(tmp_path / "d.npz", y_test=np.full(24, 4))
    config = _write_config(tmp_path, kind, str(root))
    assert_one_line_error(["train", "--config", str(config), "--out", str(tmp_path / "run")], needle)
    assert not (tmp_path / "run" / "config.yaml").exists()


# ---- the CLI chain ---------------------------------------------------------------------------------

def _condnet(*argv: object, cwd: Path = REPO) -> str:
    proc = subprocess.run([sys.executable, "-m", "condnet.cli.main", *map(str, argv)], capture_output=True,
                          text=True, cwd=str(cwd), check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("kind", ["folder", "arrays"])
def test_train_eval_cutout_export_bench(tmp_path, kind):
    """Trained with a relative data.root; every later command runs elsewhere and reads the data again."""
    if kind == "folder":
        write_image_folder(tmp_path / "data")
    else:
        _npz(tmp_path / "data.npz")
    root = "data" if kind == "folder" else "data.npz"
    config = _write_config(tmp_path, kind, root)
    _condnet("train", "--config", config, "--out", "run", "--quiet", cwd=tmp_path)
    run = tmp_path / "run"
    saved = yaml.safe_load((run / "config.yaml").read_text())["data"]
    assert saved["dataset"] == kind and saved["root"] == str(tmp_path / root) and len(saved["mean"]) == 1
    evaluated = json.loads(_condnet("eval", run, "--json"))
    assert evaluated["n"] == 24 and 0 <= evaluated["accuracy"] <= 100
    expert = json.loads(_condnet("cutout", run, "--classes", "pets", "--out", tmp_path / "pets.pt", "--json"))
    assert expert["class_names"] == ["cat", "dog"] and expert["n"] == 12
    exported = json.loads(_condnet("export", run, "--out", tmp_path / "model.onnx", "--json"))
    assert exported["class_names"] == list(NAMES) and exported["input_shape"] == [1, 16, 16]
    assert exported["mean"] == saved["mean"] and exported["max_abs_diff"] < 1e-4
    bench = json.loads(_condnet("bench", run, "--batch", "1", "--rounds", "2", "--runtime", "eager",
                                "--json"))
    assert [(t["label"], t["batch"]) for t in bench["timings"]] == [(str(run), 1)]
