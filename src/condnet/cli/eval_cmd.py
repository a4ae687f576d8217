"""``condnet eval``: accuracy, loss and cost of a trained model on the test or validation split."""

import argparse

from condnet.analysis.evaluation import evaluate_run
from condnet.cli.output import add_device_option, print_json
from condnet.train.loading import load_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run directory or checkpoint")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--split", choices=("test", "val"), default="test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_device_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = evaluate_run(load_run(args.path, args.device), args.split)
    if args.json:
        print_json(result)
    else:
        print(f"{result['model']} on {result['split']} ({result['n']} images): "
              f"accuracy {result['accuracy']:.2f}%  loss {result['loss']:.4f}  params {result['params']:,}  "
              f"MACs/sample {result['macs_per_sample']:,.0f}")
    return 0
