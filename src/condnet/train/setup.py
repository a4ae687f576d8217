"""From a :class:`RunConfig` to data batchers and a model."""

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from condnet.config import DataConfig, RunConfig
from condnet.data import Batcher, DatasetInfo, Split, dataset_info, load_dataset, validation_split
from condnet.errors import CondnetError
from condnet.models import create_model, model_entry, resolve_model_config
from condnet.train.distributed import DistInfo

SHAPE_KEYS = ("in_channels", "input_size", "num_classes")


@dataclass(frozen=True)
class DataBundle:
    """A dataset's info and its train / validation / test splits."""

    info: DatasetInfo
    train: Split
    val: Split
    test: Split


def load_data(cfg: DataConfig) -> DataBundle:
    """Read the dataset, carve the seeded validation split, apply the optional size limits."""
    info = dataset_info(cfg.dataset)
    train, test = load_dataset(cfg.dataset, cfg.root)
    for split_name, split in (("train", train), ("test", test)):
        if len(split) and (split.labels.min() < 0 or split.labels.max() >= info.num_classes):
            raise CondnetError(f"{cfg.dataset} {split_name} labels outside 0..{info.num_classes - 1}; "
                               "the label file is corrupt or of another dataset")
    if not 0 <= cfg.val_size < len(train):
        raise CondnetError(f"data.val_size must be in [0, {len(train) - 1}], got {cfg.val_size}")
    train, val = validation_split(train, cfg.val_size, cfg.split_seed)
    if cfg.limit_train is not None:
        train = train.subset(torch.arange(min(cfg.limit_train, len(train))))
    if cfg.limit_test is not None:
        test = test.subset(torch.arange(min(cfg.limit_test, len(test))))
        val = val.subset(torch.arange(min(cfg.limit_test, len(val))))
    return DataBundle(info, train, val, test)


def make_batcher(split: Split, cfg: DataConfig, info: DatasetInfo, training: bool, seed: int = 0,
                 dist: DistInfo = DistInfo()) -> Batcher:
    """A training batcher (shuffled, augmented per config, sharded per rank) or an evaluation batcher."""
    augment = info.augment_default if cfg.augment is None else cfg.augment
    batch = cfg.batch_size // dist.world_size if training else cfg.eval_batch_size
    if batch < 1:
        raise CondnetError(f"data.batch_size {cfg.batch_size} is smaller than the {dist.world_size} processes")
    return Batcher(split, batch, info.mean, info.std, shuffle=training,
                   crop_padding=cfg.crop_padding if training and augment else 0,
                   flip=training and augment, seed=seed, rank=dist.rank, world_size=dist.world_size)


def resolve_run_config(cfg: RunConfig) -> RunConfig:
    """Fill the model's defaults and its input shape / class count from the dataset."""
    info = dataset_info(cfg.data.dataset)
    model_cfg: dict[str, Any] = dict(cfg.model)
    name = model_cfg.pop("name")
    options = model_entry(name).options()
    shape = dict(zip(SHAPE_KEYS, (info.shape[0], info.shape[1], info.num_classes)))
    for key, value in shape.items():
        if key in options:
            model_cfg.setdefault(key, value)
    return RunConfig({"name": name, **resolve_model_config(name, **model_cfg)}, cfg.data, cfg.train)


def build_model(model_cfg: dict[str, Any]) -> nn.Module:
    """Create the model a resolved ``model`` config section describes."""
    cfg = dict(model_cfg)
    return create_model(cfg.pop("name"), **cfg)
