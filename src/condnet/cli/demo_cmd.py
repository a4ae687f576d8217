"""``condnet demo``: Fashion-MNIST end to end — plain backbone, thin baseline, HNN, CIGT and random
routing trained, experts cut out, attention and routing analysed, and DIR/report.md written."""

import argparse

from condnet.demo import run_demo
from condnet.errors import CondnetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train and report on Fashion-MNIST end to end")
    p.add_argument("--epochs", type=int, default=3, help="training epochs per model (default 3)")
    p.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    p.add_argument("--fresh", action="store_true",
                   help="redo every phase instead of reusing finished ones "
                        "(with --force on an existing --out)")
    p.add_argument("--force", action="store_true", help="replace a demo in --out made with other settings")
    p.add_argument("--limit-train", type=int, help="train on only the first N training images (a quick look)")
    p.add_argument("--limit-test", type=int, help="evaluate on only the first N validation/test images")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for option, value in (("--epochs", args.epochs), ("--limit-train", args.limit_train),
                          ("--limit-test", args.limit_test)):
        if value is not None and value < 1:
            raise CondnetError(f"{option} must be at least 1, got {value}")
    report = run_demo(args.out, args.epochs, args.fresh, args.limit_train, args.limit_test, force=args.force)
    print(f"report: {report}")
    return 0
