"""``condnet models [PATTERN|NAME]``: the registered models, or one model's options."""

import argparse
import inspect
from typing import Any

from condnet.cli.output import print_json
from condnet.errors import ConfigError
from condnet.models import list_models, model_entry
from condnet.models.registry import option_limit


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models, or show one model's options")
    p.add_argument("pattern", nargs="?", default="*", metavar="PATTERN|NAME",
                   help="shell-style pattern of names (e.g. 'hnn_*'), or a model's name to show its options")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def options_of(name: str) -> list[dict[str, Any]]:
    """Each config key of model ``name``: its default, type and valid values."""
    rows = []
    for key, default in model_entry(name).options().items():
        required = default is inspect.Parameter.empty
        rows.append({"option": key, "default": None if required else default, "required": required,
                     "type": "any" if required or default is None else type(default).__name__,
                     "valid": option_limit(key)})
    return rows


def run(args: argparse.Namespace) -> int:
    if args.pattern in list_models():
        return show_options(args.pattern, args.json)
    names = list_models(args.pattern)
    if not names:
        raise ConfigError(f"no registered model matches {args.pattern!r}; run `condnet models` to list them")
    entries = {name: {"family": model_entry(name).family, "description": model_entry(name).description}
               for name in names}
    if args.json:
        print_json({"models": entries})
        return 0
    width = max(map(len, entries))
    for name, entry in entries.items():
        print(f"{name:<{width}}  {entry['family']:<8}  {entry['description']}")
    return 0


def show_options(name: str, as_json: bool) -> int:
    entry, rows = model_entry(name), options_of(name)
    if as_json:
        print_json({"model": name, "family": entry.family, "description": entry.description, "options": rows})
        return 0
    print(f"{name} ({entry.family}): {entry.description}")
    width = max(len(r["option"]) for r in rows)
    for r in rows:
        default = "(required)" if r["required"] else repr(r["default"])
        valid = f"  {r['valid']}" if r["valid"] else ""
        print(f"  {r['option']:<{width}}  {r['type']:<5}  {default}{valid}")
    return 0
