"""``condnet attend``: test accuracy of a trained HNN under a top-down attention protocol and gain sweep."""

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from condnet.analysis.attention import (
    PROTOCOLS,
    Sweep,
    attention_sweep,
    check_sweep,
    mean_sweep,
    plot_sweeps,
    summarise_sweeps,
)
from condnet.analysis.experts import images_of, load_hnn
from condnet.analysis.seeds import is_seeds_dir, model_runs
from condnet.cli.output import (
    add_device_option,
    add_force_option,
    add_plot_option,
    check_plot_path,
    print_json,
)
from condnet.errors import CondnetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attend", help="accuracy of a trained HNN under top-down cues: feature attention, the "
                                      "evidence prior and the cued node's expert side by side")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT|SEEDS_DIR",
                   help="a run, an expert or a directory of runs of one model (condnet seeds --out): then "
                        "each seed is swept and the mean ± std over seeds printed")
    p.add_argument("--protocol", required=True, choices=PROTOCOLS)
    p.add_argument("--level", type=int, default=1,
                   help="depth of the node the cue names (1: the root's children; default 1)")
    p.add_argument("--gains", default="0,0.5,1,1.5,2,4",
                   help="comma-separated gains (default 0,0.5,1,1.5,2,4)")
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


def sweep_run(path: str | Path, args: argparse.Namespace, gains: list[float]) -> tuple[Sweep, str]:
    """The sweep ``args`` ask for on one run or expert, and its model's name."""
    loaded = load_hnn(path, args.device)
    model = loaded.model
    depth = model.hierarchy.depth()
    if not 1 <= args.level <= depth:
        raise CondnetError(f"--level must be in 1..{depth} (the depth of this model's class tree), "
                           f"got {args.level}")
    test = loaded.split("test")
    if model.classes is not None:  # an expert: its classes
        test = images_of(test, model.classes)
    if args.limit is not None:
        test = test.subset(torch.arange(min(args.limit, len(test))))
    sweep = attention_sweep(model, loaded.batches(test), args.protocol, gains, args.reliability, args.seed,
                            args.level)
    return sweep, loaded.config.model["name"]


def run(args: argparse.Namespace) -> int:
    gains = parse_gains(args.gains)
    check_sweep(args.protocol, gains, args.reliability)  # before the slow loading
    if args.limit is not None and args.limit < 1:
        raise CondnetError(f"--limit must be at least 1 (test images to use), got {args.limit}")
    check_plot_path(args.plot, args.force, reading=[args.path])
    several = is_seeds_dir(args.path)
    model = model_runs(args.path) if several else None
    runs, unfinished = (model.paths, model.unfinished) if model else ([args.path], ())
    swept = [sweep_run(path, args, gains) for path in runs]
    sweeps = [sweep for sweep, _ in swept]
    if args.plot:
        title = f"{swept[0][1]}: {args.protocol}" + (f", mean of {len(sweeps)} seeds" if several else "")
        plot_sweeps([mean_sweep(sweeps)] if several else sweeps, args.plot, title)
    if several:
        summary = summarise_sweeps(sweeps)
        if args.json:
            print_json({"path": args.path, "runs": [str(p) for p in runs],
                        "unfinished": [str(p) for p in unfinished], **summary,
                        "sweeps": [s.as_dict() for s in sweeps]})
        else:
            print(describe_seeds(summary, runs, unfinished))
        return 0
    if args.json:
        print_json({"path": args.path, **sweeps[0].as_dict()})
    else:
        print(describe(sweeps[0]))
    return 0


def _mean_std(stats: dict, signed: bool = False) -> str:
    sign = "+" if signed else ""
    std = f" ± {stats['std']:.2f}" if stats["std"] is not None else ""
    return f"{stats['mean']:{sign}.2f}{std}"


def describe_seeds(summary: dict, runs: list, unfinished: Sequence[Path] = ()) -> str:
    """A summary over seeds as text: mean ± std (sample) of each accuracy and of its change against no
    signal (per seed); ``unfinished`` runs are named as not counted."""
    names = ", ".join(Path(p).name for p in runs)
    if unfinished:
        names += "; not finished, not counted: " + ", ".join(Path(p).name for p in unfinished)
    seeds = f"{summary['seeds']} seeds ({names}): mean ± std over seeds" if summary["seeds"] > 1 \
        else f"1 seed ({names})"
    lines = [f"{summary['protocol']} at level {summary['level']} ({', '.join(summary['groups'])}) on "
             f"{summary['n']} test images, {seeds}",
             f"  no signal                 {_mean_std(summary['no_signal'])}%",
             f"  cued node's expert        {_mean_std(summary['ceiling'])}%  "
             f"({_mean_std(summary['ceiling_change'], True)})",
             f"  gain    {'features (' + summary['feature_mode'] + ')':<30} evidence prior"]
    for row in summary["gains"]:
        features = f"{_mean_std(row['features'])}% ({_mean_std(row['features_change'], True)})"
        lines.append(f"  {row['gain']:<6g}  {features:<30} {_mean_std(row['evidence'])}% "
                     f"({_mean_std(row['evidence_change'], True)})")
    return "\n".join(lines)


def describe(sweep: Sweep) -> str:
    """The sweep as text: no signal and the cued node's expert, then one row per gain."""
    extra = f", reliability {sweep.reliability} ({sweep.cue_correct:.1f}% of cues right)" \
        if sweep.reliability is not None else ""
    lines = [f"{sweep.protocol} at level {sweep.level} ({', '.join(sweep.groups)}) "
             f"on {sweep.n} test images{extra}",
             f"  no signal                 {sweep.no_signal_accuracy:.2f}%",
             f"  cued node's expert        {sweep.ceiling_accuracy:.2f}%  "
             f"({sweep.ceiling_accuracy - sweep.no_signal_accuracy:+.2f})",
             f"  gain    {'features (' + sweep.feature_mode + ')':<22} evidence prior"]
    for gain, features, evidence in zip(sweep.gains, sweep.accuracy, sweep.evidence_accuracy, strict=True):
        lines.append(f"  {gain:<6g}  {features:.2f}% ({features - sweep.no_signal_accuracy:+.2f}){'':<7} "
                     f"{evidence:.2f}% ({evidence - sweep.no_signal_accuracy:+.2f})")
    return "\n".join(lines)
