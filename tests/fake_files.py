"""Writers of small datasets in the real on-disk formats (IDX, CIFAR python batches), for tests that
must not depend on MNIST/CIFAR files outside the repository."""

import gzip
import pickle
from pathlib import Path

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    """An array of uint8 as an IDX file's bytes (magic 0x0000_08_ndim, big-endian dims, data)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_dataset(root: Path, n_train: int = 64, n_test: int = 32, size: int = 28, classes: int = 10,
                      compress: bool = True, seed: int = 0) -> Path:
    """MNIST-layout files (train/t10k images/labels) with random images whose mean encodes the label."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, classes, n).astype(np.uint8)
        images = (rng.integers(0, 60, (n, size, size)) + labels[:, None, None] * 19).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            data = idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte"
            if compress:
                (root / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (root / name).write_bytes(data)
    return root


def write_cifar(root: Path, classes: int = 10, n_per_file: int = 20, seed: int = 0) -> Path:
    """CIFAR-10 (5 data batches + test_batch) or CIFAR-100 (train + test) python-version files."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"] if classes == 10 else ["train", "test"]
    key = b"labels" if classes == 10 else b"fine_labels"
    for name in names:
        labels = rng.integers(0, classes, n_per_file)
        data = rng.integers(0, 256, (n_per_file, 3 * 32 * 32)).astype(np.uint8)
        batch = {b"data": data, key: labels.tolist(), b"batch_label": name.encode()}
        if classes == 100:
            batch[b"coarse_labels"] = (labels // 5).tolist()
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))
    return root


class ShellPayload:
    """An object whose unpickling runs ``touch marker``: a stand-in for a malicious pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def tiny_run_overrides(root: Path | None = None) -> list[str]:
    """Config overrides that train a shipped config for one epoch of a few images on one thread, on the
    installed Fashion-MNIST (``root`` None) or on the files a writer above put under ``root``."""
    overrides = ["train.epochs=1", "train.threads=1", "data.batch_size=8", "data.eval_batch_size=16"]
    if root is None:
        return overrides + ["data.limit_train=48", "data.limit_test=16"]
    return overrides + [f"data.root={root}", "data.val_size=8", "data.limit_train=24", "data.limit_test=8"]


def class_images(classes: int, n_per_class: int, size: int = 16, channels: int = 1,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, size, size(, channels)] whose brightness encodes the class (noise in [0, 60) plus a
    step per class, up to 190) and their labels, class by class."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    shape = (len(labels), size, size) + ((channels,) if channels > 1 else ())
    step = 190 // max(classes - 1, 1)
    images = rng.integers(0, 60, shape) + step * labels.reshape(-1, *[1] * (len(shape) - 1))
    return images.astype(np.uint8), labels


def write_image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog", "fox", "owl"), n_train: int = 20,
                       n_test: int = 6, n_val: int = 0, size: int = 16, seed: int = 0) -> Path:
    """An ImageFolder tree of grayscale PNGs, ``root/{train,test[,val]}/CLASS/NNN.png`` (``n_*`` images per
    class, by :func:`class_images`)."""
    from PIL import Image

    for offset, (split, n) in enumerate((("train", n_train), ("test", n_test), ("val", n_val))):
        if not n:
            continue
        images, labels = class_images(len(classes), n, size, seed=seed + offset)
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i % n:03d}.png")
    return root


def image_arrays(classes: int = 4, n_train: int = 20, n_test: int = 6, size: int = 16, channels: int = 1,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of an ``arrays`` dataset .npz (channels last; ``n_*`` images per class, by
    :func:`class_images`)."""
    x_train, y_train = class_images(classes, n_train, size, channels, seed)
    x_test, y_test = class_images(classes, n_test, size, channels, seed + 1)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
