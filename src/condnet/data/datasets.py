"""Built-in datasets: where their files live, their class names, and loading them into memory."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from condnet.data.cifar import read_cifar_batch
from condnet.data.idx import read_idx
from condnet.errors import CondnetError

FASHION_MNIST_DEB_DIR = Path("/usr/share/datasets/fashion-mnist")

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
    """What a dataset is: shape, classes, normalisation, where it is found by default and how it is read."""

    name: str
    subdir: str
    shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment_default: bool
    how_to_get: str
    reader: Callable[[Path], tuple[Split, Split]]
    default_root: Path | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _idx_file(root: Path, stem: str) -> Path:
    for candidate in (root / f"{stem}.gz", root / stem):
        if candidate.exists():
            return candidate
    raise CondnetError(f"missing {stem}(.gz) in {root}")


def _read_idx_pair(root: Path, prefix: str) -> Split:
    images = read_idx(_idx_file(root, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(root, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1:
        raise CondnetError(f"{root}: {prefix} images must be 3-D and labels 1-D, found {images.shape} and "
                           f"{labels.shape}; re-download the dataset")
    if len(images) != len(labels):
        raise CondnetError(f"{root}: {len(images)} {prefix} images but {len(labels)} labels; "
                           "re-download the dataset")
    return Split(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)))


def _read_idx_dataset(root: Path) -> tuple[Split, Split]:
    return _read_idx_pair(root, "train"), _read_idx_pair(root, "t10k")


def _read_cifar(root: Path, train_files: list[str], test_file: str, label_key: str) -> tuple[Split, Split]:
    def load(names: list[str]) -> Split:
        parts = []
        for name in names:
            if not (root / name).exists():
                raise CondnetError(f"missing {name} in {root}")
            parts.append(read_cifar_batch(root / name, label_key))
        return Split(torch.from_numpy(np.concatenate([p[0] for p in parts])),
                     torch.from_numpy(np.concatenate([p[1] for p in parts])))

    return load(train_files), load([test_file])


def _read_cifar10(root: Path) -> tuple[Split, Split]:
    return _read_cifar(root, [f"data_batch_{i}" for i in range(1, 6)], "test_batch", "labels")


def _read_cifar100(root: Path) -> tuple[Split, Split]:
    return _read_cifar(root, ["train"], "test", "fine_labels")


_IDX_HELP = "the four IDX files (train/t10k images/labels, .gz or raw)"
DATASETS: dict[str, DatasetInfo] = {
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", "fashion-mnist", (1, 28, 28), FASHION_MNIST_CLASSES, (0.2860,), (0.3530,), False,
        f"install the Debian package (apt-get install dataset-fashion-mnist) or set data.root / CONDNET_DATA "
        f"to a directory with {_IDX_HELP}", _read_idx_dataset, FASHION_MNIST_DEB_DIR),
    "mnist": DatasetInfo(
        "mnist", "mnist", (1, 28, 28), MNIST_CLASSES, (0.1307,), (0.3081,), False,
        f"set data.root or CONDNET_DATA to a directory with {_IDX_HELP}", _read_idx_dataset),
    "cifar10": DatasetInfo(
        "cifar10", "cifar-10-batches-py", (3, 32, 32), CIFAR10_CLASSES, (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616), True,
        "set data.root or CONDNET_DATA to the extracted cifar-10-batches-py directory (CIFAR-10 python version)",
        _read_cifar10),
    "cifar100": DatasetInfo(
        "cifar100", "cifar-100-python", (3, 32, 32), CIFAR100_CLASSES, (0.5071, 0.4865, 0.4409),
        (0.2673, 0.2564, 0.2762), True,
        "set data.root or CONDNET_DATA to the extracted cifar-100-python directory (CIFAR-100 python version)",
        _read_cifar100),
}


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of a built-in dataset, or a clear error listing the known names."""
    if name not in DATASETS:
        raise CondnetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def candidate_roots(info: DatasetInfo, root: str | os.PathLike | None) -> list[Path]:
    """Where to look, in order: the given root, then $CONDNET_DATA (itself and its dataset subfolder),
    then the dataset's default location."""
    if root is not None:
        return [Path(root)]
    found = []
    env = os.environ.get("CONDNET_DATA")
    if env:
        found += [Path(env) / info.subdir, Path(env)]
    if info.default_root is not None:
        found.append(info.default_root)
    return found


def load_dataset(name: str, root: str | os.PathLike | None = None) -> tuple[Split, Split]:
    """Load a built-in dataset's (train, test) splits into memory as uint8 tensors."""
    info = dataset_info(name)
    roots = candidate_roots(info, root)
    problems = []
    for candidate in roots:
        if not candidate.is_dir():
            problems.append(f"{candidate} (no such directory)")
            continue
        try:
            train, test = info.reader(candidate)
        except CondnetError as exc:
            if "missing" not in str(exc):
                raise
            problems.append(str(exc))
            continue
        if tuple(train.images.shape[1:]) != info.shape:
            raise CondnetError(f"{candidate}: images have shape {tuple(train.images.shape[1:])}, "
                               f"{name} needs {info.shape}; check that data.root holds {name}")
        return train, test
    looked = "; ".join(problems) if problems else "nowhere (no data.root, no CONDNET_DATA)"
    raise CondnetError(f"{name} not found. Looked in: {looked}. To fix: {info.how_to_get}")
