"""``condnet cost``: parameters, MACs per sample and the per-module table of a model or a run."""

import argparse
import warnings
from pathlib import Path
from typing import Any

import torch

from condnet.cli.output import add_device_option, parse_int_list, print_json
from condnet.cost import RoutedCost, cost_rows, count_params, format_table, measure_macs
from condnet.cost.counter import describe_ops
from condnet.devices import resolve_device
from condnet.errors import CondnetError
from condnet.models import create_model, model_entry
from condnet.train.loading import load_run
from condnet.train.objective import model_device
from condnet.train.summary import cost_summary


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cost", help="parameters and MACs of a registered model or a trained run")
    p.add_argument("target", metavar="MODEL_NAME|RUN_DIR|CHECKPOINT")
    p.add_argument("--input-shape", metavar="C,H,W",
                   help="input shape for a model name (default: the model's)")
    p.add_argument("--depth", type=int, default=2, help="module depth of the table (default 2)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--strict", action="store_true", help="fail if ops without a MAC rule ran (docs/cost.md)")
    add_device_option(p)
    p.set_defaults(func=run)


def _model_and_input(args: argparse.Namespace) -> tuple[torch.nn.Module, torch.Tensor, Any]:
    """The model, an example batch, and for a trained routed model the test batches to average over."""
    if Path(args.target).exists():
        loaded = load_run(args.target, args.device)
        batches = loaded.batches()
        x, _ = next(iter(batches.epoch()))
        example = x[:2].to(model_device(loaded.model))
        return loaded.model, example, batches if isinstance(loaded.model, RoutedCost) else None
    options = model_entry(args.target).options()
    cfg: dict[str, Any] = {}
    if args.input_shape:
        c, h, w = parse_int_list(args.input_shape, "--input-shape", 3)
        cfg = {k: v for k, v in (("in_channels", c), ("input_size", h)) if k in options}
    with warnings.catch_warnings():  # too small an input shape makes empty layers: the forward below says so
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
        model = create_model(args.target, **cfg).eval().to(resolve_device(args.device, "--device"))
    resolved = model.condnet_config
    shape = (c, h, w) if args.input_shape else (resolved["in_channels"], resolved["input_size"],
                                                  resolved["input_size"])
    return model, torch.randn(2, *shape, device=model_device(model)), None


def run(args: argparse.Namespace) -> int:
    model, x, batches = _model_and_input(args)
    try:
        count = measure_macs(model, x, strict=args.strict)
    except RuntimeError as exc:  # the layers reject the input shape (too small, wrong flatten size)
        raise CondnetError(f"{args.target} cannot run on input shape {','.join(map(str, x.shape[1:]))} "
                           f"({str(exc).splitlines()[0]}); pass an --input-shape the model accepts") from None
    rows = cost_rows(model, count, args.depth)
    summary = cost_summary(model, batches) if batches is not None else {"macs_per_sample": rows[0].macs}
    result = {"target": args.target, "params": count_params(model), **summary,
              "input_shape": list(x.shape[1:]), "unsupported_ops": dict(count.unsupported_ops),
              "table": [r.as_dict() for r in rows], "table_images": len(x)}
    if args.json:
        print_json(result)
    else:
        print(format_table(rows))
        print(f"\nunsupported ops: {describe_ops(count.unsupported_ops)}")
        if batches is not None:  # routed: the table's rows depend on the routes of its example images
            print(f"(table: per sample over {len(x)} test images on their own routes; MACs/sample below: "
                  f"the mean over all {sum(summary['macs']['histogram']['counts']):,} test images)")
        print(f"params {result['params']:,}  MACs/sample {result['macs_per_sample']:,.0f}")
    return 0
