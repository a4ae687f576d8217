"""Entry point of the ``condnet`` command: sub-commands, and one clear line for user errors."""

import argparse
import sys

from condnet.cli import (
    attend_cmd,
    bench_cmd,
    compare_cmd,
    cost_cmd,
    cutout_cmd,
    demo_cmd,
    eval_cmd,
    export_cmd,
    hierarchy_cmd,
    models_cmd,
    report_cmd,
    routes_cmd,
    seeds_cmd,
    train_cmd,
)
from condnet.errors import CondnetError

COMMANDS = (train_cmd, seeds_cmd, compare_cmd, eval_cmd, cost_cmd, models_cmd, hierarchy_cmd, cutout_cmd,
            attend_cmd, routes_cmd, demo_cmd, report_cmd, export_cmd, bench_cmd)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit code 2), like every other condnet error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="condnet", description="Image classifiers with dynamic inference cost.")
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
    except OSError as exc:  # the file system refused (disk full, permissions, a path that vanished)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"condnet {args.command}: error: cannot read or write{where}: {exc.strerror or exc}; free "
              "space or fix the path and permissions, then run the command again", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"condnet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
