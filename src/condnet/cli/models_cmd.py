"""``condnet models [PATTERN|NAME]``: the registered models, or one model's options."""

import argparse

from condnet.cli.output import print_json
from condnet.errors import ConfigError
from condnet.models import list_models, model_entry
from condnet.models.registry import is_import_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models, or show one model's options")
    p.add_argument("pattern", nargs="?", default="*", metavar="PATTERN|NAME",
                   help="shell-style pattern of names (e.g. 'hnn_*'), or a model's name or import path "
                        "(package.module:factory) to show its options")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.pattern in list_models() or is_import_path(args.pattern):
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
    entry = model_entry(name)
    rows = entry.describe()
    if as_json:
        print_json({"model": name, "family": entry.family, "description": entry.description, "options": rows})
        return 0
    print(f"{name} ({entry.family}): {entry.description}")
    defaults = ["(required)" if r["required"] else repr(r["default"]) for r in rows]
    widths = [max(len(r[key]) for r in rows) for key in ("option", "type")] + [max(map(len, defaults))]
    for r, default in zip(rows, defaults, strict=True):
        valid = f"  valid: {r['valid']}" if r["valid"] else ""
        doc = f"  ({r['doc']})" if r["doc"] else ""
        line = f"  {r['option']:<{widths[0]}}  {r['type']:<{widths[1]}}  {default:<{widths[2]}}{valid}{doc}"
        print(line.rstrip())
    return 0
