"""``condnet attend``: test accuracy of a trained HNN under a top-down attention protocol and gain sweep."""

import argparse

import torch

from condnet.analysis.attention import PROTOCOLS, attention_sweep, check_sweep, plot_sweeps
from condnet.analysis.experts import load_hnn
from condnet.cli.output import print_json
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
    p.add_argument("--plot", metavar="FILE.png", help="write accuracy against gain as a PNG")
    p.set_defaults(func=run)


def parse_gains(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise CondnetError(f"--gains must be comma-separated numbers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    gains = parse_gains(args.gains)
    check_sweep(args.protocol, gains, args.reliability)  # before the slow loading
    model, config = load_hnn(args.path)
    data = load_data(config.data)
    test = data.test if args.limit is None else data.test.subset(torch.arange(min(args.limit, len(data.test))))
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
