"""Built-in datasets: where their files live, their class names, and loading them into memory. (The user's
own data, ``USER_DATASETS``, is read by condnet.data.user_data.)"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from condnet.data.cifar import read_cifar_batch
from condnet.data.idx import read_idx
from condnet.errors import ConfigError, DataError, DataNotFoundError

FASHION_MNIST_DEB_DIR = Path("/usr/share/datasets/fashion-mnist")
USER_DATASETS = ("folder", "arrays")

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(i) for i in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl",
    "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair",
    "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin",
    "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp",
    "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck",
    "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television",
    "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf",
    "woman", "worm",
)


@dataclass(frozen=True)
class Split:
    """Images as uint8 [N, C, H, W] and labels as int64 [N], held in memory."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> "Split":
        return Split(self.images[index], self.labels[index])

    def restricted(self, classes: list[int]) -> "Split":
        """Only the images of ``classes``, relabelled 0..len(classes)-1 in the order given."""
        relabel = torch.full((int(self.labels.max()) + 1 if len(self) else 1,), -1, dtype=torch.int64)
        keep = [c for c in classes if c < len(relabel)]
        relabel[torch.tensor(keep, dtype=torch.int64)] = torch.tensor(
            [classes.index(c) for c in keep], dtype=torch.int64)
        mask = relabel[self.labels] >= 0
        return Split(self.images[mask], relabel[self.labels[mask]])


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: shape, classes, normalisation, where it is found by default, its files (each as the
    names it may have, e.g. ``x.gz`` or ``x``) and how they are read."""

    name: str
    subdir: str
    shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment_default: bool
    how_to_get: str
    reader: Callable[[Path], tuple[Split, Split]] | None = None  # None for the user's own data
    default_root: Path | None = None
    files: tuple[tuple[str, ...], ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _idx_file(root: Path, stem: str) -> Path:
    for candidate in (root / f"{stem}.gz", root / stem):
        if candidate.is_file():
            return candidate
    raise DataNotFoundError(f"missing {stem}(.gz) in {root}; re-download or reinstall the dataset")


def _read_idx_pair(root: Path, prefix: str) -> Split:
    images = read_idx(_idx_file(root, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(root, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{root}: {prefix} images must be 3-D and labels 1-D, found {images.shape} and "
                        f"{labels.shape}; re-download the dataset")
    if len(images) != len(labels):
        raise DataError(f"{root}: {len(images)} {prefix} images but {len(labels)} labels; "
                        "re-download the dataset")
    return Split(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)))


def _read_idx_dataset(root: Path) -> tuple[Split, Split]:
    return _read_idx_pair(root, "train"), _read_idx_pair(root, "t10k")


def _read_cifar(root: Path, train_files: list[str], test_file: str, label_key: str) -> tuple[Split, Split]:
    def load(names: list[str]) -> Split:
        parts = []
        for name in names:
            if not (root / name).exists():
                raise DataNotFoundError(f"missing {name} in {root}; re-download the CIFAR python version")
            parts.append(read_cifar_batch(root / name, label_key))
        return Split(torch.from_numpy(np.concatenate([p[0] for p in parts])),
                     torch.from_numpy(np.concatenate([p[1] for p in parts])))

    return load(train_files), load([test_file])


_CIFAR10_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def _read_cifar10(root: Path) -> tuple[Split, Split]:
    return _read_cifar(root, _CIFAR10_TRAIN, "test_batch", "labels")


def _read_cifar100(root: Path) -> tuple[Split, Split]:
    return _read_cifar(root, ["train"], "test", "fine_labels")


_IDX_FILES = tuple((f"{stem}.gz", stem) for stem in (
    f"{prefix}-{kind}-ubyte" for prefix in ("train", "t10k") for kind in ("images-idx3", "labels-idx1")))


_IDX_HELP = "the four IDX files (train/t10k images/labels, .gz or raw)"
DATASETS: dict[str, DatasetInfo] = {
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", "fashion-mnist", (1, 28, 28), FASHION_MNIST_CLASSES, (0.2860,), (0.3530,), False,
        f"install the Debian package (apt-get install dataset-fashion-mnist) or set data.root / CONDNET_DATA "
        f"to a directory with {_IDX_HELP}", _read_idx_dataset, FASHION_MNIST_DEB_DIR, _IDX_FILES),
    "mnist": DatasetInfo(
        "mnist", "mnist", (1, 28, 28), MNIST_CLASSES, (0.1307,), (0.3081,), False,
        f"set data.root or CONDNET_DATA to a directory with {_IDX_HELP}", _read_idx_dataset,
        files=_IDX_FILES),
    "cifar10": DatasetInfo(
        "cifar10", "cifar-10-batches-py", (3, 32, 32), CIFAR10_CLASSES, (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616), True,
        "set data.root or CONDNET_DATA to the extracted cifar-10-batches-py directory "
        "(CIFAR-10 python version)",
        _read_cifar10, files=tuple((name,) for name in [*_CIFAR10_TRAIN, "test_batch"])),
    "cifar100": DatasetInfo(
        "cifar100", "cifar-100-python", (3, 32, 32), CIFAR100_CLASSES, (0.5071, 0.4865, 0.4409),
        (0.2673, 0.2564, 0.2762), True,
        "set data.root or CONDNET_DATA to the extracted cifar-100-python directory "
        "(CIFAR-100 python version)",
        _read_cifar100, files=(("train",), ("test",))),
}


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of a built-in dataset, or a clear error listing the known names."""
    if name in USER_DATASETS:
        raise ConfigError(f"dataset {name!r} takes its classes and shape from its files: ask "
                          "condnet.data.data_info(config.data), not dataset_info(name)")
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def candidate_roots(info: DatasetInfo, root: str | os.PathLike | None) -> list[Path]:
    """Where to look, in order. A named location is the only place looked: the given root alone, else
    $CONDNET_DATA's dataset subfolder then $CONDNET_DATA itself; the dataset's default location only when
    neither is named."""
    if root is not None:
        return [Path(root)]
    env = os.environ.get("CONDNET_DATA")
    if env:
        return [Path(env) / info.subdir, Path(env)]
    return [info.default_root] if info.default_root is not None else []


def locate_dataset(name: str, root: str | os.PathLike | None = None) -> Path:
    """The directory :func:`load_dataset` reads ``name`` from: the first candidate root that holds all the
    dataset's files (checked for existence only), or a :class:`DataNotFoundError` saying what is missing
    where and how to get it."""
    info = dataset_info(name)
    problems = []
    for candidate in candidate_roots(info, root):
        problem = _problem_with(info, candidate)
        if problem is None:
            return candidate
        problems.append(problem)
    raise DataNotFoundError(_not_found_message(info, root, problems))


def _problem_with(info: DatasetInfo, directory: Path) -> str | None:
    """Why ``directory`` cannot be read as ``info``'s dataset, or None when it holds all its files."""
    if not os.path.isdir(directory):  # os.path, unlike Path, answers False rather than raise on EACCES
        return f"{directory} ({'not a directory' if os.path.exists(directory) else 'no such directory'})"
    if not os.access(directory, os.X_OK):
        return f"{directory} (permission denied)"
    missing = [_file_label(names) for names in info.files
               if not any(os.path.isfile(directory / file) for file in names)]
    if not missing:
        return None
    incomplete = "incomplete: " if len(missing) < len(info.files) else ""
    return f"{directory} ({incomplete}missing {', '.join(missing)})"


def _file_label(names: tuple[str, ...]) -> str:
    """How a required file is named in messages: ``x(.gz)`` when it may be compressed."""
    if len(names) == 2 and names[0] == f"{names[1]}.gz":
        return f"{names[1]}(.gz)"
    return " or ".join(names)


def _not_found_message(info: DatasetInfo, root: str | os.PathLike | None, problems: list[str]) -> str:
    named = "data.root" if root is not None else "CONDNET_DATA" if os.environ.get("CONDNET_DATA") else None
    where = f" in the location {named} names" if named else ""
    looked = "; ".join(problems) or "nowhere (no data.root, no CONDNET_DATA, no default location)"
    note = ""
    if named and info.default_root is not None:
        note = f"; {named} is set, so the default location {info.default_root} is not used"
    return f"{info.name} not found{where}. Looked in: {looked}. To fix: {info.how_to_get}{note}"


def load_dataset(name: str, root: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """Load a built-in dataset's (train, test) splits into memory as uint8 tensors, from the directory
    :func:`locate_dataset` names."""
    info = dataset_info(name)
    directory = locate_dataset(name, root)
    train, test = info.reader(directory)
    for split_name, split in (("train", train), ("test", test)):
        shape = tuple(split.images.shape[1:])
        if shape != info.shape:
            raise DataError(f"{directory}: {split_name} images have shape {shape}, {name} needs "
                            f"{info.shape}; check that {directory} holds {name}")
    return train, test
