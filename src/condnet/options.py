"""Declared options: dataclass fields that carry their valid values, and the one checker for all of them.

Every option condnet reads from a config (the ``data`` and ``train`` sections, and each model family's
options) is a dataclass field declared with :func:`option`: its type is the annotation, its default the
field's, its valid values the keywords. The same declaration validates configs, builds a model factory's
signature and is printed by ``condnet models NAME``.

Written by hand rather than with pydantic: the checks are a few lines, and the error messages (``where``
must be ..., got ...) are part of the CLI's contract.
"""

import copy
import dataclasses
import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from condnet.errors import ConfigError

REQUIRED = inspect.Parameter.empty  # the default of an option a config must set


def option(default: Any = REQUIRED, *, choices: Iterable[Any] | None = None, at_least: float | None = None,
           above: float | None = None, at_most: float | None = None, below: float | None = None,
           check: tuple[Callable[[Any], bool], str] | None = None, doc: str = "") -> Any:
    """A dataclass field for an option: its default (a mutable one, list or dict, is copied for each
    instance), its valid values (``choices``, bounds, or ``check`` = (test, what a valid value is)) and a
    one-line ``doc``. Bounds and checks apply to a number, or to every item of a list."""
    valid = _describe(tuple(choices) if choices is not None else None, at_least, above, at_most, below, check)
    meta = {"choices": tuple(choices) if choices is not None else None, "bounds": (at_least, above, at_most,
            below), "check": check[0] if check else None, "valid": valid, "doc": doc}
    if type(default).__hash__ is None:  # list, dict, set: a fresh copy per instance
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    if default is REQUIRED:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _describe(choices: tuple | None, at_least: float | None, above: float | None, at_most: float | None,
              below: float | None, check: tuple[Callable[[Any], bool], str] | None) -> str:
    if check is not None:
        return check[1]
    if choices is not None:
        return f"one of {', '.join(map(str, choices))}"
    low = (f"[{_number(at_least)}" if at_least is not None else f"({_number(above)}" if above is not None
           else None)
    high = (f"{_number(at_most)}]" if at_most is not None else f"{_number(below)})" if below is not None
            else None)
    if low and high:
        return f"in {low}, {high}"
    if low:
        return f">= {_number(at_least)}" if at_least is not None else f"> {_number(above)}"
    if high:
        return f"<= {_number(at_most)}" if at_most is not None else f"< {_number(below)}"
    return ""


def _in_bounds(value: float, bounds: tuple) -> bool:
    at_least, above, at_most, below = bounds
    return not (at_least is not None and value < at_least or above is not None and value <= above
                or at_most is not None and value > at_most or below is not None and value >= below)


def type_name(annotation: Any) -> str:
    """How an option's type is shown: ``int``, ``list[int]``, ``str | None``."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _check_type(where: str, value: Any, annotation: Any) -> Any:
    """``value`` if it has type ``annotation`` (ints promoted to floats, tuples to lists; numbers finite)."""
    if annotation is Any:
        return list(value) if isinstance(value, tuple) else value
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        if value is None and len(members) < len(typing.get_args(annotation)):
            return None
        errors = []
        for member in members:
            try:
                return _check_type(where, value, member)
            except ConfigError as exc:
                errors.append(exc)
        if len(members) == 1:
            raise errors[0]
        raise ConfigError(f"{where} must be of type {type_name(annotation)}, got {value!r}")
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        items = typing.get_args(annotation) or (Any, ...)
        if origin is tuple and items[-1] is not Ellipsis:  # tuple[int, str]: one type per position
            if len(value) != len(items):
                raise ConfigError(f"{where} must be a list of {len(items)} values, got {value!r}")
            return [_check_type(where, v, t) for v, t in zip(value, items, strict=True)]
        return [_check_type(where, v, items[0]) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return value
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if annotation is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    fits = (isinstance(value, int) and not isinstance(value, bool) if annotation is int
            else isinstance(value, annotation) if isinstance(annotation, type) else True)
    if not fits:
        raise ConfigError(f"{where} must be of type {annotation.__name__}, got {value!r}")
    return value


def check_option(where: str, value: Any, field: dataclasses.Field, annotation: Any) -> Any:
    """``value`` checked against the option's type and valid values (``field`` and ``annotation`` as
    :func:`fields_of` gives them), with an error naming ``where``."""
    value = _check_type(where, value, annotation)
    meta = field.metadata
    if not meta or value is None:
        return value
    for item in value if isinstance(value, list) else [value]:  # the rules hold for every item of a list
        numeric = isinstance(item, (int, float)) and not isinstance(item, bool)
        if (meta["choices"] is not None and item not in meta["choices"]
                or meta["check"] is not None and not meta["check"](item)
                or numeric and not _in_bounds(item, meta["bounds"])):
            raise ConfigError(f"{where} must be {meta['valid']}, got {value!r}")
    return value


def fields_of(*classes: type) -> dict[str, tuple[dataclasses.Field, Any]]:
    """Every option of ``classes`` by name: its field and its resolved type annotation."""
    found: dict[str, tuple[dataclasses.Field, Any]] = {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in found:
                names = ", ".join(c.__name__ for c in classes)
                raise ValueError(f"option {f.name!r} declared twice ({names})")
            found[f.name] = (f, hints[f.name])
    return found


def default_of(field: dataclasses.Field) -> Any:
    """A field's default (a fresh copy of a mutable one), or :data:`REQUIRED`."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return REQUIRED


def build_section(cls: type, values: Any, section: str) -> Any:
    """An instance of ``cls`` from a config mapping: unknown keys, wrong types and invalid values are errors
    naming ``section.key``."""
    if not isinstance(values, dict):
        raise ConfigError(f"config section {section!r} must be a mapping, got {values!r}")
    fields = fields_of(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]}; valid keys in {section}: {', '.join(fields)}")
    return cls(**{k: check_option(f"{section}.{k}", v, *fields[k]) for k, v in values.items()})


def check_fields(instance: Any, prefix: str) -> None:
    """Check every option of a dataclass instance against its declaration."""
    for name, declared in fields_of(type(instance)).items():
        check_option(f"{prefix}.{name}", getattr(instance, name), *declared)


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """Base of a model's option groups: an instance built in Python is held to the rules a config is held
    to (errors name ``model.<option>``)."""

    def __post_init__(self) -> None:
        check_fields(self, "model")


def group_of(cls: type, values: dict[str, Any]) -> Any:
    """An instance of option group ``cls`` from the matching keys of a flat mapping of options."""
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)})
