"""Wall-clock of the dynamic models against their static baselines, eager PyTorch and onnxruntime.

Needs the demo's trained runs (``bash scripts/demo.sh`` writes them to runs/demo/runs):

    python benchmarks/deploy_speed.py --demo runs/demo [--threads 1] [--rounds 30]

Three tables, each measured in one process, 1 thread, interleaved rounds, medians (condnet.deploy.bench):
1. CIGT [1,2,4] (trained, real test images) against thick and thin, batch 1 and 256;
2. full HNN (width rule share) against its backbone: the demo's LeNet pair, and ResNet-20 (HNN and backbone
   built untrained: their speed does not depend on the weights), batch 1 and 64;
3. every single-group and single-class expert of the demo's HNN against the full HNN, onnxruntime, batch 64.
Each goal of the deployment issue is printed with the measured ratio and whether it is met.
"""

import argparse
from pathlib import Path

import torch

from condnet.analysis.experts import standard_experts
from condnet.deploy.bench import (
    BenchModel,
    Timing,
    bench_model,
    format_timings,
    time_side_by_side,
    with_expert,
)
from condnet.models import create_model
from condnet.train.summary import model_macs


def speedup(rows: list[Timing], label: str, runtime: str, batch: int, against: str) -> float:
    """Median latency of ``against`` over that of ``label`` (> 1: ``label`` is faster)."""
    pick = {r.label: r.median_ms for r in rows if r.runtime == runtime and r.batch == batch}
    return pick[against] / pick[label]


def goal(text: str, value: float, target: float, at_most: bool = False) -> None:
    met = value <= target if at_most else value >= target
    print(f"  {text}: {value:.2f}x (goal {'<=' if at_most else '>='} {target}x) {'met' if met else 'MISSED'}")


def cigt_table(runs: Path, threads: int, rounds: int) -> None:
    labels = {"backbone": "thick", "cigt": "CIGT [1,2,4]", "thin": "thin (one path)"}
    models = [bench_model(runs / name, 512, label) for name, label in labels.items()]
    rows = time_side_by_side(models, ["eager", "onnx"], [1, 256], threads, rounds)
    print("## CIGT against thick and thin\n" + format_timings(rows))
    cigt = "CIGT [1,2,4]"
    for runtime, b256, b1 in (("onnx", 1.8, 1.5), ("eager", 1.6, 1.0)):
        goal(f"CIGT vs thick, {runtime}, batch 256", speedup(rows, cigt, runtime, 256, "thick"), b256)
        goal(f"CIGT vs thick, {runtime}, batch 1", speedup(rows, cigt, runtime, 1, "thick"), b1)
        goal(f"CIGT vs thin, {runtime}, batch 256", speedup(rows, cigt, runtime, 256, "thin (one path)"), 0.9)


def hnn_table(runs: Path, threads: int, rounds: int) -> None:
    lenet = [bench_model(runs / "backbone", 128, "LeNet backbone"),
             bench_model(runs / "hnn", 128, "LeNet HNN (share)")]
    images = lenet[0].images
    resnet = []
    for name, cfg in (("resnet20", {"in_channels": 1, "input_size": 28, "num_classes": 10}),
                      ("hnn_resnet20_fmnist", {"width_rule": "share"})):
        model = create_model(name, **cfg).eval()
        macs = model_macs(model, images)["mean"]
        resnet.append(BenchModel(name, model, images, macs, {"model_name": name}))
    for title, models in (("LeNet", lenet), ("ResNet-20", resnet)):
        rows = time_side_by_side(models, ["eager", "onnx"], [1, 64], threads, rounds)
        print(f"\n## {title}: full HNN against its backbone\n" + format_timings(rows))
        for runtime in ("eager", "onnx"):
            for batch, limit in ((64, 1.15), (1, 1.5)):
                ratio = 1 / speedup(rows, models[1].label, runtime, batch, models[0].label)
                goal(f"{title} HNN time / backbone time, {runtime}, batch {batch}", ratio, limit,
                     at_most=True)


def experts_table(runs: Path, threads: int, rounds: int) -> None:
    full = bench_model(runs / "hnn", 128, "full HNN")
    models = [full] + [with_expert(full, names) for names in standard_experts(full.model)]
    rows = time_side_by_side(models, ["onnx"], [64], threads, rounds)
    print("\n## Experts against the full HNN (onnxruntime, batch 64)\n" + format_timings(rows))
    groups = {g.name for g, depth in full.model.hierarchy.groups() if depth > 0}
    for r in rows[1:]:
        share = r.speedup / r.mac_ratio
        kind = "group" if r.label in groups else "class"
        status = ("met" if share >= 0.8 else "MISSED") if kind == "group" else "(single class: no goal)"
        print(f"  {kind} expert {r.label}: speed-up {r.speedup:.2f}x for {r.mac_ratio:.2f}x fewer MACs = "
              f"{share:.2f} of the MAC ratio (goal >= 0.8 for groups) {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default="runs/demo", help="the demo's output directory (default runs/demo)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--only", choices=("cigt", "hnn", "experts"), help="run one table only")
    args = parser.parse_args()
    torch.manual_seed(0)
    runs = Path(args.demo) / "runs"
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.rounds} interleaved rounds, medians\n")
    for name, table in (("cigt", cigt_table), ("hnn", hnn_table), ("experts", experts_table)):
        if args.only in (None, name):
            table(runs, args.threads, args.rounds)


if __name__ == "__main__":
    main()
