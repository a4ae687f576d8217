"""``condnet seeds``: one run per seed of a config, DIR/seed-N (each what ``condnet train --config CONFIG
--set train.seed=N ... --out DIR/seed-N`` makes), trained as ``condnet train`` subprocesses, then compared.

Resumable: a finished seed is skipped, a started one resumed. Everything is checked before the first
training starts.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condnet.analysis.seeds import compare, config_differences, load_runs
from condnet.cli.compare_cmd import format_comparison
from condnet.cli.output import parse_int_list
from condnet.config import load_config, parse_config
from condnet.errors import CondnetError, ConfigError, RunDirError
from condnet.files import check_output_dir
from condnet.train.rundir import RunDir, RunLock
from condnet.train.setup import resolve_run_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seeds", help="train one run per seed into DIR/seed-N (resumable), then compare them")
    p.add_argument("config", metavar="CONFIG", help="YAML config (see configs/)")
    p.add_argument("--seeds", required=True, help="comma-separated non-negative seeds, e.g. 0,1,2")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value as in condnet train (repeatable); not train.seed")
    p.add_argument("--out", required=True, help="directory of the runs, one DIR/seed-N per seed")
    p.add_argument("--jobs", type=int, default=1,
                   help="trainings at once, one core each (default 1: one training with torch's threads)")
    p.add_argument("--force", action="store_true", help="replace the seed runs whose config differs")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class Plan:
    """What to do with one seed: skip (finished), resume, train, or replace (--force)."""

    seed: int
    run: RunDir
    action: str


def _seeds(text: str) -> list[int]:
    seeds = parse_int_list(text, "--seeds")
    negative = [s for s in seeds if s < 0]
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if negative or twice:
        problem = f"negative seed {negative[0]}" if negative else f"seed {twice[0]} twice"
        raise CondnetError(f"--seeds {text!r} has {problem}; give distinct seeds >= 0, e.g. 0,1,2")
    return seeds


def _mismatch(run: RunDir, wanted: dict[str, Any]) -> str | None:
    """Why the run already in ``run`` is not this seed's run, or None if it is."""
    if not run.exists():
        return "holds a checkpoint but no config.yaml"
    try:
        if run.config_edited():
            return "holds a config.yaml edited after its run started"
        saved = parse_config(run.read_config()).to_dict()
    except CondnetError as exc:
        return f"holds a damaged run ({exc})"
    differing = config_differences(wanted, saved)
    return f"holds a run whose config differs in {', '.join(differing)}" if differing else None


def _plan(seed: int, args: argparse.Namespace) -> Plan:
    cfg = load_config(args.config, [f"train.seed={seed}", *args.overrides])
    if args.jobs > 1 and (cfg.train.threads or 1) > 1:
        raise ConfigError(f"train.threads is {cfg.train.threads}, but with --jobs {args.jobs} each training "
                          "gets one core; remove train.threads or use --jobs 1")
    wanted = resolve_run_config(cfg, locate_data=True).to_dict()
    run = RunDir(Path(args.out) / f"seed-{seed}")
    check_output_dir(run.root)
    if not run.exists() and not run.last.exists():
        return Plan(seed, run, "train")
    problem = _mismatch(run, wanted)
    if problem and not args.force:
        raise RunDirError(f"{run.root} {problem}; pass --force to replace it, or choose another --out")
    action = "replace" if problem else "skip" if run.summary.exists() else "resume"
    return Plan(seed, run, action)


def _check(args: argparse.Namespace) -> list[Plan]:
    """Every seed's plan; raises before any training if anything is wrong."""
    seeds = _seeds(args.seeds)
    cores = os.cpu_count() or 1
    if not 1 <= args.jobs <= cores:
        raise CondnetError(f"--jobs must be between 1 and {cores} (one training per core), got {args.jobs}")
    if any(item.partition("=")[0].strip() == "train.seed" for item in args.overrides):
        raise CondnetError("--set train.seed conflicts with --seeds, which sets it; remove that --set")
    check_output_dir(args.out)
    plans = [_plan(seed, args) for seed in seeds]
    for plan in plans:
        if plan.action != "skip" and plan.run.root.exists():
            RunLock(plan.run).acquire().release()  # refuses a run another process is writing
    return plans


def _train_argv(plan: Plan, args: argparse.Namespace) -> list[str]:
    sets = [f"train.seed={plan.seed}", *args.overrides]
    flag = {"resume": ["--resume"], "replace": ["--force"]}.get(plan.action, [])
    return [sys.executable, "-m", "condnet.cli.main", "train", "--config", args.config,
            *[a for s in sets for a in ("--set", s)], "--out", str(plan.run.root), "--quiet", *flag]


class Training:
    """One ``condnet train`` subprocess; its stderr goes to a temporary file, read if it fails."""

    def __init__(self, plan: Plan, argv: list[str], env: dict[str, str] | None) -> None:
        self.plan, self.started = plan, time.monotonic()
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log, env=env)

    def done(self) -> bool:
        return self.proc.poll() is not None

    def error(self) -> str | None:
        """None if the training succeeded, else the last line it wrote to stderr."""
        if self.proc.returncode == 0:
            return None
        self.log.seek(0)
        lines = self.log.read().strip().splitlines()
        return lines[-1] if lines else f"exit code {self.proc.returncode}"

    def stop(self) -> None:
        """End the training (it can be resumed from its last checkpoint)."""
        if not self.done():
            self.proc.terminate()
            self.proc.wait()
        self.log.close()


def _accuracy_line(plan: Plan, how: str) -> str:
    return f"seed {plan.seed}: test {plan.run.read_summary()['test_accuracy']:.2f}%  ({how})"


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def _train_all(plans: list[Plan], args: argparse.Namespace) -> list[int]:
    """Run the trainings, at most ``--jobs`` at once, with a line as each ends; returns the failed seeds.
    Interrupted (Ctrl-C, SIGTERM), it ends the running trainings, which a new run of the command resumes."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"} if args.jobs > 1 else None
    queue, running, failed = list(plans), [], []
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        while queue or running:
            while queue and len(running) < args.jobs:
                plan = queue.pop(0)
                running.append(Training(plan, _train_argv(plan, args), env))
            time.sleep(0.1)
            for training in [t for t in running if t.done()]:
                running.remove(training)
                error = training.error()
                seconds = time.monotonic() - training.started
                verb = {"resume": "resumed", "replace": "replaced"}.get(training.plan.action, "trained")
                print(_accuracy_line(training.plan, f"{verb} in {seconds:.0f} s") if error is None else
                      f"seed {training.plan.seed}: failed: {error}", flush=True)
                if error:
                    failed.append(training.plan.seed)
                training.stop()
    finally:
        for training in running:
            training.stop()
        signal.signal(signal.SIGTERM, previous)
    return failed


def run(args: argparse.Namespace) -> int:
    plans = _check(args)
    for plan in plans:
        if plan.action == "skip":
            print(_accuracy_line(plan, "finished before: skipped"), flush=True)
    todo = [p for p in plans if p.action != "skip"]
    if todo:
        print(f"training {len(todo)} seed(s) into {args.out}, {args.jobs} at a time", flush=True)
    failed = _train_all(todo, args)
    if failed:
        raise CondnetError(f"seed(s) {', '.join(map(str, sorted(failed)))} failed (see the lines above); fix "
                           "the cause and run the same command again: finished seeds are skipped")
    print()
    print(format_comparison(compare([load_runs([p.run.root for p in plans], Path(args.out).resolve().name)])))
    return 0
