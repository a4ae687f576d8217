"""The ImageFolder layout, ``ROOT/{train,val,test}/CLASS/*.png|jpg|...``, read once with Pillow into uint8
tensors. Classes are the sorted folder names under ``train/``; ``val/`` is optional."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condnet.data.datasets import Split
from condnet.errors import DataError, DataNotFoundError, first_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
GRAY_MODES = ("1", "L", "LA", "La")
LAYOUT = "ROOT/train/CLASS/*.png (or .jpg, ...) and ROOT/test/CLASS/..., optionally ROOT/val/CLASS/..."

Files = list[tuple[Path, int]]  # (image file, class index)


def read_folder(root: Path, channels: int | None = None, image_size: int | None = None,
                ) -> tuple[tuple[str, ...], Split, Split | None, Split]:
    """Class names and the train, val (None without ``root/val``) and test splits of an ImageFolder tree.

    Images are converted to grayscale (``channels`` 1) or RGB (3; None: 3 if any image is in colour) and
    resized to ``image_size`` x ``image_size`` (bilinear); without ``image_size`` all must have one size."""
    if not root.is_dir():
        raise DataNotFoundError(f"data.root {root} is not a directory; a folder dataset needs {LAYOUT}")
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise DataNotFoundError(f"{root} has no {split}/ folder; a folder dataset needs {LAYOUT}")
    classes = tuple(folder.name for folder in _class_folders(root / "train"))
    files = {split: _split_files(root / split, classes) for split in ("train", "val", "test")
             if (root / split).is_dir()}
    every = [path for split_files in files.values() for path, _ in split_files]
    if channels is None:
        channels = 3 if any(_mode(path) not in GRAY_MODES for path in every) else 1
    images = _decode(every, "RGB" if channels == 3 else "L", image_size)
    splits, start = {}, 0
    for split, split_files in files.items():
        pixels = images[start:start + len(split_files)]
        pixels = pixels[:, None] if channels == 1 else pixels.transpose(0, 3, 1, 2)
        labels = torch.tensor([label for _, label in split_files], dtype=torch.int64)
        splits[split] = Split(torch.from_numpy(np.ascontiguousarray(pixels)), labels)
        start += len(split_files)
    return classes, splits["train"], splits.get("val"), splits["test"]


def _class_folders(split_dir: Path) -> list[Path]:
    folders = sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{split_dir} holds no class folders; a folder dataset needs {LAYOUT}")
    return folders


def _split_files(split_dir: Path, classes: tuple[str, ...]) -> Files:
    """Every image of a split with its class index; a class unknown in train/ or with no images is an
    error."""
    files: Files = []
    for folder in _class_folders(split_dir):
        if folder.name not in classes:
            raise DataError(f"class folder {folder} has no counterpart in {split_dir.parent / 'train'}: "
                            f"class {folder.name!r} is unknown in training; add its training images or "
                            "remove it")
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                        and not p.name.startswith(".") and p.is_file())
        if not images:
            raise DataError(f"class folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); add "
                            "images or remove the folder")
        label = classes.index(folder.name)
        files += [(path, label) for path in images]
    return files


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """An image opened with Pillow; any failure to read or decode it is a :class:`DataError` naming it."""
    try:
        with Image.open(path) as image:
            if image.mode.startswith(("I", "F")):
                raise DataError(f"image {path} has {image.mode} pixels (16/32 bit); save it with 8 bits per "
                                "channel (grayscale or RGB)")
            yield image
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {path} ({first_line(exc)}); replace or remove the file") from None


def _mode(path: Path) -> str:
    with _opened(path) as image:
        return image.mode


def _decode(paths: list[Path], mode: str, image_size: int | None) -> np.ndarray:
    """The images as one uint8 array [N, H, W] (mode L) or [N, H, W, 3] (RGB)."""
    arrays = []
    for path in paths:
        with _opened(path) as image:
            image = image.convert(mode)
            if image_size is not None:
                image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
            arrays.append(np.asarray(image))
        if arrays[-1].shape != arrays[0].shape:
            (h0, w0), (h, w) = arrays[0].shape[:2], arrays[-1].shape[:2]
            raise DataError(f"images of different sizes: {paths[0]} is {w0}x{h0}, {path} is {w}x{h}; resize "
                            "them all with --set data.image_size=N")
    return np.stack(arrays)
