"""From a :class:`RunConfig` to data batchers and a model."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from condnet.config import DataConfig, RunConfig
from condnet.cost import count_params
from condnet.data import (
    USER_DATASETS,
    Batcher,
    DatasetInfo,
    Split,
    data_info,
    load_dataset,
    locate_dataset,
    read_user_data,
    validation_split,
)
from condnet.data.hierarchy import resolve_hierarchy
from condnet.errors import ConfigError, DataError
from condnet.models import create_model, model_entry, resolve_model_config
from condnet.train.distributed import DistInfo

SHAPE_KEYS = ("in_channels", "input_size", "num_classes")
MAX_PARAMS = 2_000_000_000  # 8 GB of float32 weights: a config asking for more is a mistake, not a model
SINGLE_PROCESS = DistInfo()


@dataclass(frozen=True)
class DataBundle:
    """A dataset's info and its train / validation / test splits."""

    info: DatasetInfo
    train: Split
    val: Split
    test: Split


def load_data(cfg: DataConfig) -> DataBundle:
    """Read the dataset, carve the seeded validation split (unless the data has its own), apply the optional
    size limits."""
    info = data_info(cfg)
    if cfg.dataset in USER_DATASETS:  # labels checked as read
        user = read_user_data(cfg)
        train, val, test = user.train, user.val, user.test
    else:
        (train, test), val = load_dataset(cfg.dataset, cfg.root), None
        for split_name, split in (("train", train), ("test", test)):
            if len(split) and (split.labels.min() < 0 or split.labels.max() >= info.num_classes):
                raise DataError(f"{cfg.dataset} {split_name} labels outside 0..{info.num_classes - 1}; "
                                "the label file is corrupt or of another dataset")
    if val is None:
        if not 0 <= cfg.val_size < len(train):
            raise ConfigError(f"data.val_size must be in [0, {len(train) - 1}], got {cfg.val_size}")
        train, val = validation_split(train, cfg.val_size, cfg.split_seed)
    if cfg.limit_train is not None:
        train = train.subset(torch.arange(min(cfg.limit_train, len(train))))
    if cfg.limit_test is not None:
        test = test.subset(torch.arange(min(cfg.limit_test, len(test))))
        val = val.subset(torch.arange(min(cfg.limit_test, len(val))))
    return DataBundle(info, train, val, test)


def make_batcher(split: Split, cfg: DataConfig, info: DatasetInfo, training: bool, seed: int = 0,
                 dist: DistInfo = SINGLE_PROCESS) -> Batcher:
    """A training batcher (shuffled, augmented per config, sharded per rank) or an evaluation batcher."""
    augment = info.augment_default if cfg.augment is None else cfg.augment
    batch = cfg.batch_size // dist.world_size if training else cfg.eval_batch_size
    if batch < 1:
        raise ConfigError(f"data.batch_size {cfg.batch_size} is smaller than the {dist.world_size} processes")
    return Batcher(split, batch, tuple(cfg.mean or info.mean), tuple(cfg.std or info.std), shuffle=training,
                   crop_padding=cfg.crop_padding if training and augment else 0,
                   flip=training and augment, seed=seed, rank=dist.rank, world_size=dist.world_size)


def resolve_data_config(cfg: DataConfig, locate: bool = False) -> DataConfig:
    """The data section with everything that decides the numbers filled in: the normalisation (mean/std,
    one value per channel; a user dataset's are computed on its training split), a folder dataset's channels
    and, with ``locate``, the directory (or .npz file) the data is read from, as an absolute path for the
    user's own data."""
    info = data_info(cfg)
    root = cfg.root
    if locate:
        user = cfg.dataset in USER_DATASETS
        root = str(Path(cfg.root).absolute() if user else locate_dataset(cfg.dataset, cfg.root))
    channels = info.shape[0] if cfg.dataset == "folder" else cfg.channels
    mean, std = list(cfg.mean or info.mean), list(cfg.std or info.std)
    for key, values in (("mean", mean), ("std", std)):
        if len(values) != info.shape[0]:
            raise ConfigError(f"data.{key} needs {info.shape[0]} value(s), one per channel of {cfg.dataset}; "
                              f"got {values}")
    return dataclasses.replace(cfg, root=root, channels=channels, mean=mean, std=std)


def resolve_run_config(cfg: RunConfig, locate_data: bool = False) -> RunConfig:
    """Fill the model's defaults, its input shape / class count and its class tree (the tree itself, not
    a name or a file) from the dataset, and the data section (see :func:`resolve_data_config`; a run
    stores the located data directory)."""
    info = data_info(cfg.data)
    model_cfg: dict[str, Any] = dict(cfg.model)
    name = model_cfg.pop("name")
    options = model_entry(name).options()
    shape = dict(zip(SHAPE_KEYS, (info.shape[0], info.shape[1], info.num_classes), strict=True))
    for key, value in shape.items():
        if key in options:
            model_cfg.setdefault(key, value)
    if "hierarchy" in options:
        source = model_cfg.get("hierarchy", options["hierarchy"])
        model_cfg["hierarchy"] = resolve_hierarchy(source, info.num_classes, info.class_names).to_dict()
    return RunConfig({"name": name, **resolve_model_config(name, **model_cfg)},
                     resolve_data_config(cfg.data, locate_data), cfg.train)


def build_model(model_cfg: dict[str, Any]) -> nn.Module:
    """Create the model a resolved ``model`` config section describes; first, on the meta device (no
    memory), check that its size is sane."""
    cfg = dict(model_cfg)
    name = cfg.pop("name")
    with torch.device("meta"):
        size = count_params(create_model(name, **cfg))
    if size > MAX_PARAMS:
        raise ConfigError(f"model {name!r} with this config would have {size:,} parameters (more than "
                          f"{MAX_PARAMS:,}); check its width and size options")
    return create_model(name, **cfg)
