"""``condnet attend``: test accuracy of a trained HNN under a top-down attention protocol and gain sweep."""

import argparse

import torch

from condnet.analysis.attention import PROTOCOLS, attention_sweep, check_sweep, plot_sweeps
from condnet.analysis.experts import images_of, load_hnn
from condnet.cli.output import (
    add_device_option,
    add_force_option,
    add_plot_option,
    check_plot_path,
    print_json,
)
from condnet.errors import CondnetError
from condnet.train import load_data, make_batcher


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attend", help="accuracy of a trained HNN under group-level top-down signals")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--protocol", required=True, choices=PROTOCOLS)
    p.add_argument("--gains", default="0,0.5,1,1.5,2,4", help="comma-separated gains (default 0,0.5,1,1.5,2,4)")
    p.add_argument("--reliability", type=float, default=0.8,
                   help="noisy-cue: probability that the cue names the true group (default 0.8)")
    p.add_argument("--seed", type=int, default=0, help="noisy-cue: seed of the cue draws (default 0)")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N test images (quicker sweeps)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_plot_option(p, "accuracy against gain")
    add_force_option(p)
    add_device_option(p)
    p.set_defaults(func=run)


def parse_gains(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise CondnetError(f"--gains must be comma-separated numbers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    gains = parse_gains(args.gains)
    check_sweep(args.protocol, gains, args.reliability)  # before the slow loading
    if args.limit is not None and args.limit < 1:
        raise CondnetError(f"--limit must be at least 1 (test images to use), got {args.limit}")
    check_plot_path(args.plot, args.force, reading=[args.path])
    model, config = load_hnn(args.path, args.device)
    data = load_data(config.data)
    test = data.test if model.classes is None else images_of(data.test, model.classes)  # an expert: its classes
    if args.limit is not None:
        test = test.subset(torch.arange(min(args.limit, len(test))))
    sweep = attention_sweep(model, make_batcher(test, config.data, data.info, training=False), args.protocol,
                            gains, args.reliability, args.seed)
    if args.plot:
        plot_sweeps([sweep], args.plot, f"{config.model['name']}: {args.protocol}")
    if args.json:
        print_json({"path": args.path, **sweep.as_dict()})
    else:
        extra = f", reliability {sweep.reliability} ({sweep.cue_correct:.1f}% of cues right)" \
            if sweep.reliability is not None else ""
        print(f"{args.protocol} on {sweep.n} test images ({sweep.cued} with a group cue{extra})")
        print(f"  no signal   accuracy {sweep.no_signal_accuracy:.2f}%")
        for gain, accuracy in zip(sweep.gains, sweep.accuracy):
            print(f"  gain {gain:<6g} accuracy {accuracy:.2f}%  ({accuracy - sweep.no_signal_accuracy:+.2f})")
    return 0
