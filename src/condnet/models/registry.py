"""One registry for every model: ``register_model`` declares one, ``create_model(name, **cfg)`` builds it,
``list_models(pattern)`` lists them.

A model's options are the fields of its option groups (dataclasses declared with
:func:`condnet.options.option`: type, default, valid values), less the ones its entry fixes; an entry may
override defaults. The same declaration validates a config, gives the factory's signature and is what
``condnet models NAME`` prints. The created module remembers its resolved config in
``model.condnet_config`` so that checkpoints can rebuild it. Every entry has a family (:class:`Family`,
registered with :func:`register_family` by the package that defines it): what analyses dispatch on.

A name of the form ``package.module:factory`` is an import path: the factory is imported and used like a
registered one (its keyword arguments are the options, typed by their annotations or defaults; its family
is its ``condnet_family`` attribute, default ``backbone``). Whoever passes the name vouches for the code: a
config file, a run directory or a Python call. Loading a checkpoint never imports code on its own
(``train.loading``).
"""

import dataclasses
import fnmatch
import importlib
import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from torch import nn

from condnet.data.hierarchy import HierarchySource
from condnet.errors import ConfigError
from condnet.options import REQUIRED, check_option, default_of, fields_of, option, type_name


@dataclass(frozen=True)
class Family:
    """A kind of network, and the analyses that apply to it.

    ``routed``: its models send each sample down one path (``forward(x, return_routes=True)`` returns
    ``(logits, routes [N, layers])``; ``path_counts``, ``path_params()``; ``sample_macs(x)`` for the MACs
    each sample executed): routing statistics apply, and a model whose config has ``routing: random`` is a
    baseline. ``hierarchical``: its models are HNNs (cutout experts, top-down attention, per-node costs).
    """

    name: str
    description: str
    routed: bool = False
    hierarchical: bool = False


_FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> None:
    """Make ``family`` available to :func:`register_model` (each name once)."""
    if family.name in _FAMILIES:
        raise ValueError(f"family {family.name!r} registered twice")
    _FAMILIES[family.name] = family


register_family(Family("backbone", "a plain network"))


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder, option groups, family, defaults, fixed arguments, description."""

    name: str
    build: Callable[..., nn.Module]
    option_groups: tuple[type, ...]
    description: str
    family: str
    defaults: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def fields(self) -> dict[str, tuple[dataclasses.Field, Any]]:
        """Every option: its declaring field and type."""
        return {k: v for k, v in fields_of(*self.option_groups).items() if k not in self.fixed}

    def options(self) -> dict[str, Any]:
        """Every option with its default (:data:`~condnet.options.REQUIRED` if a config must set it)."""
        return {k: self.defaults.get(k, default_of(f)) for k, (f, _) in self.fields.items()}

    def signature(self) -> inspect.Signature:
        """The factory's signature: one keyword-only parameter per option."""
        return inspect.Signature([inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                    annotation=self.fields[k][1])
                                  for k, default in self.options().items()])

    def describe(self) -> list[dict[str, Any]]:
        """Each option's name, type, default, valid values and doc (what ``condnet models NAME`` prints)."""
        rows = []
        for k, default in self.options().items():
            f, annotation = self.fields[k]
            rows.append({"option": k, "type": type_name(annotation), "required": default is REQUIRED,
                         "default": None if default is REQUIRED else default,
                         "valid": f.metadata.get("valid", ""), "doc": f.metadata.get("doc", "")})
        return rows

    def resolve(self, **cfg: Any) -> dict[str, Any]:
        """The full config: defaults overridden by ``cfg``; unknown keys, bad values and missing required
        options are errors."""
        options = self.options()
        unknown = sorted(set(cfg) - set(options))
        if unknown:
            raise ConfigError(f"model {self.name!r} has no option {', '.join(map(repr, unknown))}; valid "
                              f"options: {', '.join(sorted(options)) or '(none)'}")
        resolved = {k: v for k, v in options.items() if v is not REQUIRED}
        resolved.update({k: check_option(f"model.{k}", v, *self.fields[k]) for k, v in cfg.items()})
        missing = sorted(set(options) - set(resolved))
        if missing:
            raise ConfigError(f"model {self.name!r} needs option(s) {', '.join(missing)}")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in resolved.items()}


_MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, build: Callable[..., nn.Module], option_groups: Sequence[type],
                   description: str, family: str, *, defaults: dict[str, Any] | None = None,
                   fixed: dict[str, Any] | None = None) -> None:
    """Register model ``name``: ``build(**options)`` makes it, where the options are the fields of the
    dataclasses ``option_groups``; ``defaults`` override the groups' defaults; ``fixed`` fields are passed
    with these values and are not options. ``family`` is a registered :class:`Family`'s name."""
    if name in _MODELS:
        raise ValueError(f"model {name!r} registered twice")
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {', '.join(_FAMILIES)}, got {family!r}")
    entry = ModelEntry(name, build, tuple(option_groups), description, family, dict(defaults or {}),
                       dict(fixed or {}))
    fields = fields_of(*entry.option_groups)
    unknown = sorted((set(entry.defaults) | set(entry.fixed)) - set(fields))
    if unknown:
        raise ValueError(f"model {name!r}: {', '.join(unknown)} is not a field of its option groups")
    if set(entry.defaults) & set(entry.fixed):
        both = ", ".join(sorted(set(entry.defaults) & set(entry.fixed)))
        raise ValueError(f"model {name!r}: {both} is both a default and fixed")
    for kind, values in (("default", entry.defaults), ("fixed", entry.fixed)):
        for k, value in values.items():
            check_option(f"{name} {kind} {k}", value, *fields[k])
    _MODELS[name] = entry


def is_import_path(name: str) -> bool:
    """Whether a model name is an import path (``package.module:factory``) rather than a registered name."""
    return ":" in name


def options_from_signature(factory: Callable[..., Any], name: str) -> type:
    """An option group for a plain function: one field per keyword argument, typed by its annotation (or
    its default's type), required where it has no default. A ``hierarchy`` argument takes what an HNN's
    does: a run stores the class tree itself there (``train.setup.resolve_run_config``)."""
    try:  # a class is typed by its __init__
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except (NameError, TypeError):
        hints = {}
    fields = []
    for p in inspect.signature(factory).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = REQUIRED if p.default is inspect.Parameter.empty else p.default
        guessed = (list[Any] if isinstance(default, (list, tuple)) else
                   type(default) if default not in (REQUIRED, None) else Any)
        kind = HierarchySource if p.name == "hierarchy" else hints.get(p.name, guessed)
        fields.append((p.name, kind, option(default)))
    fields.sort(key=lambda f: default_of(f[2]) is not REQUIRED)  # dataclasses need the required fields first
    return dataclasses.make_dataclass(f"Options of {name}", fields, frozen=True)


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
    family = getattr(factory, "condnet_family", "backbone")
    if family not in _FAMILIES:
        raise ConfigError(f"model.name {name!r}: condnet_family must be one of {', '.join(_FAMILIES)}, "
                          f"got {family!r}")
    description = (inspect.getdoc(factory) or "a model from user code").splitlines()[0]
    return ModelEntry(name, factory, (options_from_signature(factory, name),), description, family)


def family_of(model: nn.Module) -> Family:
    """The family of a model made by :func:`create_model` (or rebuilt from a checkpoint): what analyses
    and reports dispatch on."""
    config = getattr(model, "condnet_config", None)
    if config is None:
        raise ConfigError("this model was not made by condnet.create_model, so its family is unknown")
    return _FAMILIES[model_entry(config["name"]).family]


def routes_at_random(model: nn.Module) -> bool:
    """Whether ``model`` belongs to a routed family and its config says ``routing: random``: a baseline
    whose routes are drawn at run time (reports list it as such, exports refuse it)."""
    config = getattr(model, "condnet_config", None)
    return config is not None and family_of(model).routed and config.get("routing") == "random"


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


def resolve_model_config(name: str, **cfg: Any) -> dict[str, Any]:
    """The full config of model ``name``: defaults overridden by ``cfg``; unknown keys are errors."""
    return model_entry(name).resolve(**cfg)


def create_model(name: str, **cfg: Any) -> nn.Module:
    """Build registered model ``name`` with config ``cfg`` (see ``condnet models`` for the names)."""
    entry = model_entry(name)
    resolved = entry.resolve(**cfg)
    try:
        model = entry.build(**entry.fixed, **resolved)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad config for model {name!r}: {exc}") from None
    model.condnet_config = {"name": name, **resolved}
    return model
