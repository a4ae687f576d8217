"""The user's own data at ``data.root``: an ImageFolder tree (``data.dataset: folder``) or one .npz
(``arrays``). Class names, image shape and normalisation (mean/std of the training split) come from the
files, which a process reads once: the last dataset read is kept."""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from condnet.data.arrays import NEEDS, read_arrays
from condnet.data.datasets import USER_DATASETS, DatasetInfo, Split, dataset_info
from condnet.data.folder import LAYOUT, read_folder
from condnet.errors import ConfigError, DataError

if TYPE_CHECKING:
    from condnet.config import DataConfig

_ROOT_HELP = {"folder": f"the folder holding {LAYOUT}", "arrays": NEEDS}


@dataclass(frozen=True)
class UserData:
    """A user dataset's info and splits; ``val`` is its own validation split (``val/``, ``x_val``) or None."""

    info: DatasetInfo
    train: Split
    val: Split | None
    test: Split


_last: dict[tuple, UserData] = {}  # the last dataset read, under its given and its resolved settings


def read_user_data(cfg: "DataConfig") -> UserData:
    """The folder tree or .npz ``cfg`` names, read into memory (again only when the settings change)."""
    if cfg.root is None:
        raise ConfigError(f"data.dataset {cfg.dataset} needs data.root: {_ROOT_HELP[cfg.dataset]} "
                          "(--set data.root=PATH)")
    if cfg.dataset == "arrays" and (cfg.channels is not None or cfg.image_size is not None):
        raise ConfigError("data.channels and data.image_size are for data.dataset folder; store the arrays "
                          "in the shape to train on and remove these keys")
    path = Path(cfg.root).absolute()
    key = (cfg.dataset, path, cfg.channels, cfg.image_size)
    if key not in _last:
        if cfg.dataset == "folder":
            names, train, val, test = read_folder(path, cfg.channels, cfg.image_size)
        else:
            names, train, val, test = read_arrays(path)
        mean, std = _channel_stats(train.images)
        if 0.0 in std:
            raise DataError(f"{path}: every training image has the same value in channel {std.index(0.0)}; "
                            "there is nothing to learn, check the data")
        info = DatasetInfo(cfg.dataset, "", tuple(train.images.shape[1:]), names, mean, std, False, "")
        _last.clear()
        resolved = (cfg.dataset, path, info.shape[0], cfg.image_size)
        _last[key] = _last[resolved] = UserData(info, train, val, test)
    return _last[key]


def data_info(cfg: "DataConfig") -> DatasetInfo:
    """The info of ``cfg``'s dataset: a built-in's, or what the user's files say (see
    :func:`read_user_data`)."""
    if cfg.dataset in USER_DATASETS:
        return read_user_data(cfg).info
    if cfg.channels is not None or cfg.image_size is not None:
        raise ConfigError(f"data.channels and data.image_size are for data.dataset folder; {cfg.dataset} "
                          "images have a fixed shape, remove these keys")
    return dataset_info(cfg.dataset)


def _channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std of uint8 images [N, C, H, W] on the 0..1 scale, exactly, from
    each channel's histogram."""
    values = torch.arange(256, dtype=torch.float64) / 255
    means, stds = [], []
    for channel in range(images.shape[1]):
        share = torch.bincount(images[:, channel].reshape(-1), minlength=256).double()
        share /= share.sum()
        mean = float((share * values).sum())
        means.append(mean)
        stds.append(float((share * (values - mean) ** 2).sum().sqrt()))
    return tuple(means), tuple(stds)
