"""Run configuration: YAML files, ``--set key=value`` overrides, and validation with clear errors.

A config has three sections: ``model`` (``name`` plus the model's own options, checked by the model
registry), ``data`` and ``train`` (the dataclasses below). The resolved config, every default filled
in, is what a run directory and its checkpoints keep.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condnet.data import DATASETS, USER_DATASETS
from condnet.devices import DEVICE_HELP, DEVICE_PATTERN
from condnet.errors import ConfigError
from condnet.files import parse_yaml_text, read_data_file
from condnet.options import build_section, option


@dataclass
class DataConfig:
    """Which dataset, where it is, how it is split and batched."""

    dataset: str = option("fashion_mnist", choices=(*DATASETS, *USER_DATASETS),
                          doc="a built-in, or the user's own: folder (ImageFolder tree) | arrays (.npz)")
    root: str | None = option(None, doc="folder / arrays: required, the folder or the .npz file")
    channels: int | None = option(None, check=(lambda v: v in (1, 3), "1 or 3"),
                                  doc="folder: None = 3 if any image is in colour, else 1 (stored resolved)")
    image_size: int | None = option(None, at_least=1, doc="folder: resize every image to N x N (bilinear); "
                                                           "None: one size for all")
    val_size: int = option(5000, at_least=0)
    split_seed: int = 0
    batch_size: int = option(128, check=(lambda v: v >= 2,
                                         ">= 2 (BatchNorm needs two images per training batch)"))
    eval_batch_size: int = option(1000, at_least=1)
    augment: bool | None = option(None, doc="random crop + flip; None: the dataset's default (on for CIFAR)")
    crop_padding: int = option(4, at_least=0)
    limit_train: int | None = option(None, at_least=1,
                                     doc="use only the first N training images (quick runs, tests)")
    limit_test: int | None = option(None, at_least=1)
    mean: list[float] | None = option(None, doc="per channel, on the 0..1 scale; None: the dataset's "
                                                "(stored resolved)")
    std: list[float] | None = option(None, check=(lambda v: v > 0, "> 0 for every channel"))


@dataclass
class TrainConfig:
    """Optimisation, schedule and run settings."""

    epochs: int = option(10, at_least=1)
    optimizer: str = option("sgd", choices=("sgd", "adamw"))
    lr: float = option(0.05, above=0)
    momentum: float = option(0.9, at_least=0)
    nesterov: bool = False
    weight_decay: float = option(5e-4, at_least=0)
    schedule: str = option("cosine", choices=("constant", "step", "multistep", "cosine"))
    step_size: int = option(30, at_least=1, doc="epochs, for schedule: step")
    milestones: list[int] = option([], doc="epochs, for schedule: multistep")
    gamma: float = option(0.1, above=0, doc="lr factor per step/milestone")
    factors: list[float] = option([], doc="multistep: absolute lr factors after each milestone")
    warmup_epochs: float = option(0.0, at_least=0)
    label_smoothing: float = option(0.0, at_least=0, below=1)
    seed: int = option(0, check=(lambda v: 0 <= v < 2**32, "in [0, 2**32)"))
    threads: int | None = option(None, at_least=1, doc="torch intra-op threads; None leaves torch's default")
    find_unused_parameters: bool = option(False, doc="DDP: needed for models that skip parameters "
                                                     "(routed models)")
    device: str = option("auto", check=(lambda v: DEVICE_PATTERN.fullmatch(v) is not None,
                                        f"one of {DEVICE_HELP}"))


@dataclass
class RunConfig:
    """A whole run: the model's config (a dict with ``name``), data and train settings."""

    model: dict[str, Any]
    data: DataConfig
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return {"model": dict(self.model), "data": dataclasses.asdict(self.data),
                "train": dataclasses.asdict(self.train)}


def parse_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a config mapping; unknown sections and keys, wrong types and bad choices are errors."""
    if not isinstance(raw, dict):
        raise ConfigError("a config must be a YAML mapping with sections model, data, train")
    unknown = sorted(set(raw) - {"model", "data", "train"})
    if unknown:
        raise ConfigError(f"unknown config section {unknown[0]!r}; valid sections: model, data, train")
    model = raw.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise ConfigError("config needs model.name (run `condnet models` for the names)")
    return RunConfig(dict(model), build_section(DataConfig, raw.get("data") or {}, "data"),
                     build_section(TrainConfig, raw.get("train") or {}, "train"))


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a config mapping."""
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise ConfigError(f"--set expects section.key=value (e.g. train.lr=0.1), got {item!r}")
        value = parse_yaml_text(text, f"--set {item!r}: the value")
        if raw.get(section) is None:  # absent, or an empty YAML section
            raw[section] = {}
        if not isinstance(raw[section], dict):
            raise ConfigError(f"config section {section!r} must be a mapping")
        raw[section][name] = value
    return raw


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config mapping from a YAML file (safely: see condnet.files), with clear errors."""
    raw = read_data_file(path, "config file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a YAML mapping with sections model, data, train")
    return raw


def load_config(path: str | Path, overrides: list[str] = ()) -> RunConfig:
    """Read, override and validate a config file."""
    return parse_config(apply_overrides(read_yaml(path), list(overrides)))
