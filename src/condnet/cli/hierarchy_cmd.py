"""``condnet hierarchy``: derive a class hierarchy from a trained model's confusions and save it."""

import argparse

import yaml

from condnet.analysis.derived_hierarchy import derive_from_run
from condnet.cli.output import add_device_option, add_force_option, print_json
from condnet.data.hierarchy import save_hierarchy
from condnet.files import check_output_file
from condnet.train.loading import load_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hierarchy",
                       help="derive a class hierarchy (for an HNN) from a trained model's confusions")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--out", required=True, metavar="FILE.yaml|FILE.json",
                   help="where to save the hierarchy (set it as model.hierarchy of an hnn_* config)")
    p.add_argument("--groups", type=int, metavar="K", help="number of groups (default: round(sqrt(classes)))")
    p.add_argument("--split", choices=("val", "test"), default="val",
                   help="split whose confusion matrix is clustered (default: val)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_force_option(p)
    add_device_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_output_file(args.out, args.force, reading=[args.path])
    hierarchy, confusion = derive_from_run(load_run(args.path, args.device), args.split, args.groups)
    save_hierarchy(hierarchy, args.out)
    if args.json:
        print_json({"path": args.path, "split": args.split, "out": args.out, **hierarchy.to_dict(),
                    "confusion": confusion.tolist()})
        return 0
    print(f"hierarchy from the {args.split} confusions of {args.path} ({int(confusion.sum())} images), "
          f"saved to {args.out}:")
    print(yaml.safe_dump(hierarchy.to_dict()["tree"], sort_keys=False).rstrip())
    return 0
