"""One registry for every model: ``create_model(name, **cfg)`` and ``list_models()``.

Each entry is a factory whose keyword arguments are the model's config keys; a config with a key the
factory does not take is an error naming the valid keys. The created module remembers its resolved
config in ``model.condnet_config`` so that checkpoints can rebuild it.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from condnet.errors import CondnetError


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its factory, fixed arguments and a one-line description."""

    name: str
    factory: Callable[..., nn.Module]
    description: str
    fixed: dict[str, Any] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """Every config key the model takes, with its default (``inspect.Parameter.empty`` if required)."""
        params = inspect.signature(self.factory).parameters
        return {k: p.default for k, p in params.items() if k not in self.fixed}


_MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, factory: Callable[..., nn.Module], description: str, **fixed: Any) -> None:
    """Register ``factory`` under ``name``; ``fixed`` arguments are not config keys."""
    if name in _MODELS:
        raise ValueError(f"model {name!r} registered twice")
    _MODELS[name] = ModelEntry(name, factory, description, fixed)


def model_entry(name: str) -> ModelEntry:
    if name not in _MODELS:
        raise CondnetError(f"unknown model {name!r}; run `condnet models` to list them "
                           f"({', '.join(sorted(_MODELS))})")
    return _MODELS[name]


def list_models() -> list[str]:
    """The names of all registered models, sorted."""
    return sorted(_MODELS)


def resolve_model_config(name: str, **cfg: Any) -> dict[str, Any]:
    """The full config of model ``name``: defaults overridden by ``cfg``; unknown keys are errors."""
    options = model_entry(name).options()
    unknown = sorted(set(cfg) - set(options))
    if unknown:
        raise CondnetError(f"model {name!r} has no option {', '.join(map(repr, unknown))}; valid options: "
                           f"{', '.join(sorted(options)) or '(none)'}")
    resolved = {k: v for k, v in options.items() if v is not inspect.Parameter.empty}
    resolved.update(cfg)
    missing = sorted(set(options) - set(resolved))
    if missing:
        raise CondnetError(f"model {name!r} needs option(s) {', '.join(missing)}")
    return {k: list(v) if isinstance(v, tuple) else v for k, v in resolved.items()}


def create_model(name: str, **cfg: Any) -> nn.Module:
    """Build registered model ``name`` with config ``cfg`` (see ``condnet models`` for the names)."""
    entry = model_entry(name)
    resolved = resolve_model_config(name, **cfg)
    try:
        model = entry.factory(**entry.fixed, **resolved)
    except (TypeError, ValueError) as exc:
        raise CondnetError(f"bad config for model {name!r}: {exc}") from None
    model.condnet_config = {"name": name, **resolved}
    return model
