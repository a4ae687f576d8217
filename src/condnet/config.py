"""Run configuration: YAML files, ``--set key=value`` overrides, and validation with clear errors.

A config has three sections: ``model`` (``name`` plus the model's own options, checked by the model
registry), ``data`` and ``train`` (the dataclasses below). The resolved config, every default filled
in, is what a run directory and its checkpoints keep.
"""

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condnet.data import DATASETS, USER_DATASETS
from condnet.devices import DEVICE_HELP, DEVICE_PATTERN
from condnet.errors import ConfigError
from condnet.files import parse_yaml_text, read_data_file


@dataclass
class DataConfig:
    """Which dataset, where it is, how it is split and batched."""

    dataset: str = "fashion_mnist"  # a built-in, or the user's own: folder (ImageFolder tree) | arrays (.npz)
    root: str | None = None  # folder / arrays: required, the folder or the .npz file
    channels: int | None = None  # folder: 1 or 3; None: 3 if any image is in colour, else 1 (stored resolved)
    image_size: int | None = None  # folder: resize every image to N x N (bilinear); None: one size for all
    val_size: int = 5000
    split_seed: int = 0
    batch_size: int = 128
    eval_batch_size: int = 1000
    augment: bool | None = None  # random crop + flip; None: the dataset's default (on for CIFAR)
    crop_padding: int = 4
    limit_train: int | None = None  # use only the first N training images (quick runs, tests)
    limit_test: int | None = None
    mean: list[float] | None = None  # per channel, on the 0..1 scale; None: the dataset's (stored resolved)
    std: list[float] | None = None


@dataclass
class TrainConfig:
    """Optimisation, schedule and run settings."""

    epochs: int = 10
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # constant | step | multistep | cosine
    step_size: int = 30  # epochs, for schedule: step
    milestones: list[int] = field(default_factory=list)  # epochs, for schedule: multistep
    gamma: float = 0.1  # lr factor per step/milestone
    factors: list[float] = field(default_factory=list)  # multistep: absolute lr factors after each milestone
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    seed: int = 0
    threads: int | None = None  # torch intra-op threads; None leaves torch's default
    find_unused_parameters: bool = False  # DDP: needed for models that skip parameters (routed models)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps


CHOICES = {
    ("data", "dataset"): (*DATASETS, *USER_DATASETS),
    ("train", "optimizer"): ("sgd", "adamw"),
    ("train", "schedule"): ("constant", "step", "multistep", "cosine"),
}
_AT_LEAST_ONE = (lambda v: v >= 1, ">= 1")
_NOT_NEGATIVE = (lambda v: v >= 0, ">= 0")
LIMITS = {  # (section, key) -> (test, what a valid value is)
    ("data", "val_size"): _NOT_NEGATIVE,
    ("data", "batch_size"): (lambda v: v >= 2, ">= 2 (BatchNorm needs two images per training batch)"),
    ("data", "eval_batch_size"): _AT_LEAST_ONE, ("data", "crop_padding"): _NOT_NEGATIVE,
    ("data", "limit_train"): _AT_LEAST_ONE, ("data", "limit_test"): _AT_LEAST_ONE,
    ("data", "channels"): (lambda v: v in (1, 3), "1 or 3"), ("data", "image_size"): _AT_LEAST_ONE,
    ("data", "std"): (lambda v: v > 0, "> 0 for every channel"),
    ("train", "epochs"): _AT_LEAST_ONE, ("train", "lr"): (lambda v: v > 0, "> 0"),
    ("train", "momentum"): _NOT_NEGATIVE, ("train", "weight_decay"): _NOT_NEGATIVE,
    ("train", "step_size"): _AT_LEAST_ONE, ("train", "gamma"): (lambda v: v > 0, "> 0"),
    ("train", "warmup_epochs"): _NOT_NEGATIVE,
    ("train", "label_smoothing"): (lambda v: 0 <= v < 1, "in [0, 1)"),
    ("train", "threads"): _AT_LEAST_ONE, ("train", "seed"): (lambda v: 0 <= v < 2**32, "in [0, 2**32)"),
    ("train", "device"): (lambda v: DEVICE_PATTERN.fullmatch(v) is not None, f"one of {DEVICE_HELP}"),
}
SECTIONS = {"data": DataConfig, "train": TrainConfig}


def _check_type(section: str, key: str, value: Any, annotation: Any) -> Any:
    where = f"{section}.{key}"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        annotation = next(a for a in options if a is not type(None))
        origin = typing.get_origin(annotation)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (item,) = typing.get_args(annotation)
        return [_check_type(section, key, v, item) for v in value]
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if annotation is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if annotation is bool and not isinstance(value, bool) or annotation is int and (
            not isinstance(value, int) or isinstance(value, bool)) or annotation in (float, str) and (
            not isinstance(value, annotation)):
        raise ConfigError(f"{where} must be of type {annotation.__name__}, got {value!r}")
    choices = CHOICES.get((section, key))
    if choices and value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    test, valid = LIMITS.get((section, key), (None, ""))
    if test is not None and not test(value):
        raise ConfigError(f"{where} must be {valid}, got {value!r}")
    return value


def _build_section(section: str, values: dict[str, Any]) -> Any:
    cls = SECTIONS[section]
    if not isinstance(values, dict):
        raise ConfigError(f"config section {section!r} must be a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]}; valid keys in {section}: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    return cls(**{k: _check_type(section, k, v, hints[k]) for k, v in values.items()})


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
    return RunConfig(dict(model), _build_section("data", raw.get("data") or {}),
                     _build_section("train", raw.get("train") or {}))


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
