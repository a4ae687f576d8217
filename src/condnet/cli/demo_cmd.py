"""``condnet demo``: the main job on Fashion-MNIST (for now: a short run of the thick baseline)."""

import argparse
from pathlib import Path

from condnet.config import parse_config
from condnet.train import Trainer

BASELINE = {"model": {"name": "lenet_fmnist_thick", "dropout": 0.185},
            "data": {"dataset": "fashion_mnist", "batch_size": 125},
            "train": {"lr": 0.05, "weight_decay": 5e-4, "schedule": "cosine", "warmup_epochs": 0.5}}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train and report on Fashion-MNIST end to end")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    p.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = parse_config({**BASELINE, "train": {**BASELINE["train"], "epochs": args.epochs}})
    summary = Trainer(cfg, Path(args.out) / "lenet_fmnist_thick").fit()
    print(f"Fashion-MNIST test accuracy {summary['test_accuracy']:.2f}%  params {summary['params']:,}  "
          f"MACs/sample {summary['macs_per_sample']:,}")
    return 0
