"""``condnet cutout``: cut an expert for some classes out of a trained HNN, save it, report cost and
accuracy."""

import argparse
from pathlib import Path

from condnet.analysis.experts import expert_report, images_of, load_hnn, measured_speedup
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
    report = expert_report(full, names, test, batcher)
    images = next(iter(Batcher(images_of(test, expert.output_classes), SPEED_BATCH, batcher.mean,
                               batcher.std).epoch()))[0]
    speedup = measured_speedup(full, expert.eval(), images, SPEED_BATCH)
    result = {"path": args.path, "out": args.out, **report,
              "speedup_vs_full": {"eager_batch": SPEED_BATCH, "threads": 1, "speedup": speedup,
                                  "mac_ratio": report["full"]["macs"] / report["expert"]["macs"]}}
    if args.json:
        print_json(result)
    else:
        print(f"expert for {', '.join(report['class_names'])} saved to {args.out}")
        for row in ("expert", "full", "backbone"):
            print(f"  {row:<9} params {report[row]['params']:>11,}  MACs/sample {report[row]['macs']:>14,}")
        for against in ("full", "backbone"):
            cut = report[f"reduction_vs_{against}"]
            print(f"  vs {against:<9} {cut['params']:6.2f}% fewer params  {cut['macs']:6.2f}% fewer MACs")
        print(f"  accuracy on {report['n']} test images of its classes: "
              f"expert {report['expert_accuracy']:.2f}%  "
              f"full model {report['full_accuracy']:.2f}%")
        print(f"  measured speed-up over the full HNN (eager, 1 thread, batch {SPEED_BATCH}): {speedup:.2f}x "
              f"for {result['speedup_vs_full']['mac_ratio']:.2f}x fewer MACs")
    return 0
