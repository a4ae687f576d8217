"""``condnet cutout``: cut an expert for some classes out of a trained HNN, save it, report cost and
accuracy."""

import argparse
from pathlib import Path

from condnet.analysis.experts import images_of, load_hnn, measured_speedup, report_of_expert
from condnet.cli.output import add_device_option, add_force_option, print_json
from condnet.data import Batcher
from condnet.files import check_output_file
from condnet.train import save_checkpoint

SPEED_BATCH = 64


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cutout", help="cut an expert for some classes out of a trained HNN")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--classes", required=True, metavar="A,B,...",
                   help="class names, class indices or group names (a group = all its classes), "
                        "comma-separated")
    p.add_argument("--out", required=True, metavar="FILE.pt", help="where to save the expert checkpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_force_option(p)
    add_device_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_output_file(args.out, args.force, reading=[args.path])
    loaded = load_hnn(args.path, args.device)
    full = loaded.model
    names = [c.strip() for c in args.classes.split(",") if c.strip()]
    expert = full.cutout(names)
    run_config = loaded.config.to_dict()
    save_checkpoint(Path(args.out), {**run_config, "model": expert.condnet_config}, expert.state_dict())
    test, batcher = loaded.split("test"), loaded.batches()
    report = report_of_expert(full, expert, test, batcher)
    images = next(iter(Batcher(images_of(test, expert.output_classes), SPEED_BATCH, batcher.mean,
                               batcher.std).epoch()))[0]
    speedup = measured_speedup(full, expert.eval(), images, SPEED_BATCH)
    result = {"path": args.path, "out": args.out, **report,
              "speedup_vs_full": {"eager_batch": SPEED_BATCH, "threads": 1, "speedup": speedup,
                                  "mac_ratio": report["full"]["macs"] / report["expert"]["macs"]}}
    if args.json:
        print_json(result)
    else:
        print(describe(result))
    return 0


def describe(result: dict) -> str:
    """The report as text, naming the model cut from for what it is: the full HNN or a source expert (an
    expert cut earlier, whose cost, accuracy and speed the ``full`` entries then hold)."""
    full = result["source"]["kind"] == "full"
    row, model, over = ("full", "full model", "full HNN") if full else ("source", *["source expert"] * 2)
    lines = [f"expert for {', '.join(result['class_names'])} saved to {result['out']}"]
    if not full:
        lines.append(f"  cut from an expert for {', '.join(result['source']['class_names'])} (the source "
                     "expert below), not from the full HNN")
    for label, key in (("expert", "expert"), (row, "full"), ("backbone", "backbone")):
        cost = result[key]
        lines.append(f"  {label:<9} params {cost['params']:>11,}  MACs/sample {cost['macs']:>14,}")
    for label, key in ((row, "full"), ("backbone", "backbone")):
        cut = result[f"reduction_vs_{key}"]
        lines.append(f"  vs {label:<9} {cut['params']:6.2f}% fewer params  {cut['macs']:6.2f}% fewer MACs")
    lines.append(f"  accuracy on {result['n']} test images of its classes: "
                 f"expert {result['expert_accuracy']:.2f}%  {model} {result['full_accuracy']:.2f}%")
    speed = result["speedup_vs_full"]
    lines.append(f"  measured speed-up over the {over} (eager, 1 thread, batch {speed['eager_batch']}): "
                 f"{speed['speedup']:.2f}x for {speed['mac_ratio']:.2f}x fewer MACs")
    return "\n".join(lines)
