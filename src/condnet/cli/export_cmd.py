"""``condnet export``: a trained model, expert or CIGT as a verified .onnx or .pt2 file with metadata."""

import argparse

from condnet.cli.output import add_force_option, print_json
from condnet.deploy.export import FORMATS, check_exportable, export_model, format_of
from condnet.deploy.metadata import deployment_metadata
from condnet.files import check_output_file
from condnet.train.loading import load_run
from condnet.train.summary import model_macs

VERIFY_BATCHES = (1, 3, 64)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trained model, expert or CIGT to ONNX or pt2, verified")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT|EXPERT")
    p.add_argument("--out", required=True, metavar="FILE.onnx|FILE.pt2")
    p.add_argument("--format", choices=FORMATS, help="onnx (default, or from --out's suffix) or pt2")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_force_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fmt = format_of(args.out, args.format)
    check_output_file(args.out, args.force, reading=[args.path])
    loaded = load_run(args.path)
    check_exportable(loaded.model)
    images = loaded.test_images(max(VERIFY_BATCHES))
    metadata = deployment_metadata(loaded.model, loaded.config, model_macs(loaded.model, images))
    report = export_model(loaded.model, args.out, fmt, metadata, [images[:b] for b in VERIFY_BATCHES])
    result = {"path": args.path, **report.as_dict(), **{k: metadata[k] for k in (
        "model_name", "class_names", "input_shape", "mean", "std", "params", "macs_per_sample", "outputs")}}
    if args.json:
        print_json(result)
    else:
        routes = "" if report.routes_equal is None else ", routes equal"
        print(f"{metadata['model_name']} exported to {args.out} ({fmt}); verified against PyTorch on real "
              f"test images at batch {', '.join(map(str, report.batches))}: max abs logit difference "
              f"{report.max_abs_diff:.2e}{routes}")
    return 0
