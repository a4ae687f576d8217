"""``condnet eval``: accuracy, loss and cost of a trained model on the test or validation split."""

import argparse
from typing import Any

from condnet.cli.output import print_json
from condnet.cost import count_params
from condnet.train import evaluate, load_data, make_batcher
from condnet.train.loading import load_model
from condnet.train.summary import cost_summary


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run directory or checkpoint")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--split", choices=("test", "val"), default="test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def evaluate_path(path: str, split: str = "test") -> dict[str, Any]:
    """Evaluate the model at ``path`` on ``split``; experts (models with ``classes``) on their classes only."""
    loaded = load_model(path)
    data = load_data(loaded.config.data)
    images = data.test if split == "test" else data.val
    classes = getattr(loaded.model, "classes", None)
    if classes is not None:
        images = images.restricted(list(classes))
    batches = make_batcher(images, loaded.config.data, data.info, training=False)
    result = evaluate(loaded.model, batches.epoch())
    return {"path": str(loaded.path), "model": loaded.config.model["name"], "split": split, **result,
            "params": count_params(loaded.model), **cost_summary(loaded.model, batches)}


def run(args: argparse.Namespace) -> int:
    result = evaluate_path(args.path, args.split)
    if args.json:
        print_json(result)
    else:
        print(f"{result['model']} on {result['split']} ({result['n']} images): accuracy {result['accuracy']:.2f}%  "
              f"loss {result['loss']:.4f}  params {result['params']:,}  MACs/sample {result['macs_per_sample']:,.0f}")
    return 0
