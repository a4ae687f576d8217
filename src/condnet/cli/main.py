"""Entry point of the ``condnet`` command: sub-commands, and one clear line for user errors."""

import argparse
import sys

from condnet.cli import (
    attend_cmd,
    cost_cmd,
    cutout_cmd,
    demo_cmd,
    eval_cmd,
    hierarchy_cmd,
    models_cmd,
    report_cmd,
    routes_cmd,
    train_cmd,
)
from condnet.errors import CondnetError

COMMANDS = (train_cmd, eval_cmd, cost_cmd, models_cmd, hierarchy_cmd, cutout_cmd, attend_cmd, routes_cmd, demo_cmd,
            report_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="condnet", description="Image classifiers with dynamic inference cost.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CondnetError as exc:
        print(f"condnet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a command that stopped reading (e.g. head)
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"condnet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
