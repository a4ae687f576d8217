"""``condnet models``: the registered model names with a description."""

import argparse

from condnet.cli.output import print_json
from condnet.models import list_models, model_entry


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    entries = {name: model_entry(name).description for name in list_models()}
    if args.json:
        print_json({"models": entries})
    else:
        width = max(map(len, entries))
        for name, description in entries.items():
            print(f"{name:<{width}}  {description}")
    return 0
