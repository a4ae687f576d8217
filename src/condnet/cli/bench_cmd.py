"""``condnet bench``: latency and throughput of models side by side (eager PyTorch and onnxruntime)."""

import argparse

from condnet.cli.output import parse_int_list, print_json
from condnet.deploy.bench import RUNTIMES, bench_model, format_timings, time_side_by_side
from condnet.errors import CondnetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="latency of models side by side (interleaved, medians)")
    p.add_argument("targets", nargs="+", metavar="MODEL|RUN_DIR|EXPERT",
                   help="registered model names (random inputs) or trained runs / experts (test images)")
    p.add_argument("--batch", default="1,64,256", help="batch sizes (default 1,64,256)")
    p.add_argument("--runtime", default="eager,onnx", help=f"comma-separated, of {', '.join(RUNTIMES)}")
    p.add_argument("--threads", type=int, default=1, help="threads per runtime (default 1)")
    p.add_argument("--rounds", type=int, default=30, help="timed rounds per model (default 30)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    batches = parse_int_list(args.batch, "--batch")
    runtimes = [r.strip() for r in args.runtime.split(",") if r.strip()]
    for name, value in (("--threads", args.threads), ("--rounds", args.rounds), ("--batch", min(batches))):
        if value < 1:
            raise CondnetError(f"{name} must be at least 1, got {value}")
    if not runtimes:
        raise CondnetError(f"--runtime takes {', '.join(RUNTIMES)} (comma-separated), got {args.runtime!r}")
    models = [bench_model(t, max(2 * max(batches), 64)) for t in args.targets]
    rows = time_side_by_side(models, runtimes, batches, args.threads, args.rounds)
    if args.json:
        print_json({"threads": args.threads, "rounds": args.rounds, "timings": [r.as_dict() for r in rows]})
    else:
        print(f"{args.threads} thread(s), {args.rounds} interleaved rounds; speed-up and MAC ratio against "
              f"{args.targets[0]}")
        print(format_timings(rows))
    return 0
