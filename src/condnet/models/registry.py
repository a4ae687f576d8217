"""One registry for every model: ``create_model(name, **cfg)`` and ``list_models(pattern)``.

Each entry is a factory whose keyword arguments are the model's config keys; a config with a key the
factory does not take is an error naming the valid keys. The created module remembers its resolved
config in ``model.condnet_config`` so that checkpoints can rebuild it. Every entry has a family
(``FAMILIES``): what kind of network it builds.

A name of the form ``package.module:factory`` is an import path: the factory is imported and used like a
registered one (its keyword arguments are the config keys; its family is its ``condnet_family`` attribute,
default ``backbone``). Whoever passes the name vouches for the code: a config file, a run directory or a
Python call. Loading a checkpoint never imports code on its own (``train.loading``).
"""

import fnmatch
import importlib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from condnet.errors import ConfigError

FAMILIES = ("backbone", "hnn", "cigt")


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its factory, family, fixed arguments and a one-line description."""

    name: str
    factory: Callable[..., nn.Module]
    description: str
    family: str
    fixed: dict[str, Any] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """Every config key the model takes, with its default (``inspect.Parameter.empty`` if required)."""
        params = inspect.signature(self.factory).parameters
        return {k: p.default for k, p in params.items() if k not in self.fixed}


_MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, factory: Callable[..., nn.Module], description: str, family: str,
                   **fixed: Any) -> None:
    """Register ``factory`` under ``name`` in ``family`` (one of ``FAMILIES``); ``fixed`` arguments are not
    config keys."""
    if name in _MODELS:
        raise ValueError(f"model {name!r} registered twice")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    _MODELS[name] = ModelEntry(name, factory, description, family, fixed)


def is_import_path(name: str) -> bool:
    """Whether a model name is an import path (``package.module:factory``) rather than a registered name."""
    return ":" in name


def _imported_entry(name: str) -> ModelEntry:
    module_name, _, attribute = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"model.name {name!r}: cannot import {module_name!r} ({exc}); install the package "
                          "or put its directory on PYTHONPATH") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"model.name {name!r}: {module_name} has no callable {attribute!r}")
    description = (inspect.getdoc(factory) or "a model from user code").splitlines()[0]
    return ModelEntry(name, factory, description, getattr(factory, "condnet_family", "backbone"))


def family_of(model: nn.Module) -> str:
    """The family of a model made by :func:`create_model` (or rebuilt from a checkpoint): what analyses
    and reports dispatch on."""
    config = getattr(model, "condnet_config", None)
    if config is None:
        raise ConfigError("this model was not made by condnet.create_model, so its family is unknown")
    return model_entry(config["name"]).family


def model_entry(name: str) -> ModelEntry:
    """The registered model ``name``, or the factory an import path names."""
    if is_import_path(name):
        return _imported_entry(name)
    if name not in _MODELS:
        raise ConfigError(f"unknown model {name!r}; run `condnet models` to list them "
                           f"({', '.join(sorted(_MODELS))})")
    return _MODELS[name]


def list_models(pattern: str = "*") -> list[str]:
    """The names of the registered models matching the shell-style ``pattern`` (``*``, ``?``, ``[...]``),
    sorted."""
    return sorted(name for name in _MODELS if fnmatch.fnmatchcase(name, pattern))


def option_limit(name: str) -> str:
    """What a valid value of model option ``name`` is ("" where only the type is checked)."""
    return OPTION_LIMITS.get(name, (None, ""))[1]


_POSITIVE = (lambda v: v > 0, "> 0")
_AT_LEAST_ONE = (lambda v: v >= 1, ">= 1")
_NOT_NEGATIVE = (lambda v: v >= 0, ">= 0")
_FRACTION = (lambda v: 0 <= v <= 1, "in [0, 1]")
OPTION_LIMITS = {  # option name -> (test on the value or on every list item, what a valid value is)
    "balance": _POSITIVE, "ig_weight": _NOT_NEGATIVE, "dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "random_ratio": _FRACTION, "temperature_initial": _POSITIVE, "temperature_min": _POSITIVE,
    "temperature_decay": (lambda v: 0 < v <= 1, "in (0, 1]"), "warmup_epochs": _NOT_NEGATIVE,
    "router_hidden": _AT_LEAST_ONE, "router_pool": _AT_LEAST_ONE, "in_channels": _AT_LEAST_ONE,
    "input_size": _AT_LEAST_ONE, "num_classes": (lambda v: v >= 2, ">= 2"), "split": _NOT_NEGATIVE,
    "width": _AT_LEAST_ONE, "width_mult": _POSITIVE, "width_floor": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "conv": _AT_LEAST_ONE, "fc": _AT_LEAST_ONE, "path_counts": _AT_LEAST_ONE, "boundaries": _AT_LEAST_ONE,
    "classes": _NOT_NEGATIVE, "cue_fraction": _FRACTION, "cue_reliability": _FRACTION,
    "cue_inhibit": _FRACTION, "cue_gain_min": _POSITIVE, "cue_gain_max": _POSITIVE,
}
ALSO_ACCEPTS = {"hierarchy": dict}  # besides the default's type: an inline tree


def _check_value(where: str, value: Any, default: Any, name: str) -> Any:
    """``value`` if it has the type of the option's default (numbers finite) and is in its range."""
    if default is inspect.Parameter.empty or default is None and value is None:
        return value
    if isinstance(value, ALSO_ACCEPTS.get(name, ())):
        return value
    kind = type(default) if default is not None else None
    if kind in (list, tuple) or default is None and isinstance(value, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        item = default[0] if kind in (list, tuple) and default else 0
        return [_check_value(where, v, item, name) for v in value]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is not None and (type(value) is not kind):
        raise ConfigError(f"{where} must be of type {kind.__name__}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    test, valid = OPTION_LIMITS.get(name, (None, ""))
    if test is not None and isinstance(value, (int, float)) and not test(value):
        raise ConfigError(f"{where} must be {valid}, got {value!r}")
    return value


def resolve_model_config(name: str, **cfg: Any) -> dict[str, Any]:
    """The full config of model ``name``: defaults overridden by ``cfg``; unknown keys are errors."""
    options = model_entry(name).options()
    unknown = sorted(set(cfg) - set(options))
    if unknown:
        raise ConfigError(f"model {name!r} has no option {', '.join(map(repr, unknown))}; valid options: "
                           f"{', '.join(sorted(options)) or '(none)'}")
    resolved = {k: v for k, v in options.items() if v is not inspect.Parameter.empty}
    resolved.update({k: _check_value(f"model.{k}", v, options[k], k) for k, v in cfg.items()})
    missing = sorted(set(options) - set(resolved))
    if missing:
        raise ConfigError(f"model {name!r} needs option(s) {', '.join(missing)}")
    return {k: list(v) if isinstance(v, tuple) else v for k, v in resolved.items()}


def create_model(name: str, **cfg: Any) -> nn.Module:
    """Build registered model ``name`` with config ``cfg`` (see ``condnet models`` for the names)."""
    entry = model_entry(name)
    resolved = resolve_model_config(name, **cfg)
    try:
        model = entry.factory(**entry.fixed, **resolved)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad config for model {name!r}: {exc}") from None
    model.condnet_config = {"name": name, **resolved}
    return model
