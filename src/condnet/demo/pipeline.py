"""``condnet demo``: train the Fashion-MNIST models, analyse them and write the report, phase by phase."""

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

from condnet import __version__
from condnet.analysis.report import analyse_run, write_report
from condnet.analysis.speed import speed_of_runs
from condnet.config import parse_config
from condnet.data import dataset_info
from condnet.demo.phases import PhaseRunner
from condnet.demo.recipes import DATA, LABELS, MODELS, demo_config
from condnet.errors import RunDirError
from condnet.files import check_output_dir, json_text, write_text_atomic
from condnet.train import Trainer
from condnet.train.rundir import RunDir, text_digest

# Relative durations, for the time-left estimate (measured on 2 CPU cores; analysis of HNN and CIGT
# includes the expert, attention and routing evaluations).
WEIGHTS = {"backbone": 10, "thin": 5, "hnn": 10, "cigt": 9, "cigt_random": 8}
ANALYSIS_WEIGHT = {"hnn": 4, "cigt": 1, "cigt_random": 1}


def train_run(config: dict[str, Any], run_dir: Path, verbose: bool = True) -> dict[str, Any]:
    """Train ``config`` into ``run_dir``, resuming an interrupted run (the resume refuses a run of another
    config); returns its summary."""
    run = RunDir(run_dir)
    trainer = Trainer(parse_config(config), run_dir, resume=run.exists(), verbose=verbose)
    if run.summary.exists():
        trainer.close()
        return run.read_summary()
    return trainer.fit()


def _claim(out: Path, settings: dict[str, Any], fresh: bool, force: bool) -> None:
    """Record the demo's settings in ``out/demo.json``; a directory holding a demo of other settings (or any
    demo, with ``fresh``) is refused unless ``force``, which deletes its runs, phases and figures."""
    check_output_dir(out)
    marker = out / "demo.json"
    earlier = json.loads(marker.read_text()) if marker.exists() else None
    held = earlier is not None or any((out / sub).exists() for sub in ("runs", "phases", "figures"))
    if held and (fresh or earlier != settings):
        if not force:
            why = ("--fresh redoes every phase" if fresh
                   else f"it holds a demo with other settings ({earlier})")
            raise RunDirError(f"{out} already holds a demo and {why}; pass --force to replace it, or choose "
                              "another --out")
        for sub in ("runs", "phases", "figures"):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / "report.md").unlink(missing_ok=True)
    write_text_atomic(marker, json_text(settings, indent=2) + "\n")


def run_identity(run_dir: Path) -> dict[str, Any]:
    """What a demo phase computed from a run depends on: the run's summary.json (None before it finished;
    it changes when the run is trained or scored again) and the condnet version."""
    summary = RunDir(run_dir).summary
    return {"summary_sha256": text_digest(summary.read_text()) if summary.exists() else None,
            "condnet": __version__}


def reproduce_command(out: str | Path, epochs: int, limit_train: int | None = None,
                      limit_test: int | None = None) -> str:
    """The ``condnet demo`` command line of these settings: only the options that were given."""
    argv = ["condnet", "demo", "--epochs", str(epochs), "--out", str(out)]
    for option, value in (("--limit-train", limit_train), ("--limit-test", limit_test)):
        if value is not None:
            argv += [option, str(value)]
    return shlex.join(argv)


def run_demo(out: str | Path, epochs: int = 3, fresh: bool = False, limit_train: int | None = None,
             limit_test: int | None = None, verbose: bool = True, force: bool = False) -> Path:
    """Train, analyse and report; returns the path of ``report.md``. A re-run with the same ``out`` and
    settings reuses the finished phases."""
    out = Path(out)
    _claim(out, {"epochs": epochs, "limit_train": limit_train, "limit_test": limit_test}, fresh, force)
    train_images = 60_000 - 5_000 if limit_train is None else limit_train  # Fashion-MNIST minus validation
    dataset_info(DATA["dataset"])
    weights = {f"train {r}": w for r, w in WEIGHTS.items()}
    weights |= {f"analyse {r}": ANALYSIS_WEIGHT.get(r, 0.5) for r in MODELS} | {"speed": 2, "report": 1}
    phases = PhaseRunner(out, weights, echo=print if verbose else lambda _: None)
    runs = {run: out / "runs" / run for run in MODELS}
    for run in MODELS:
        config = demo_config(run, epochs, train_images, limit_train, limit_test)
        phases.run(f"train {run}", lambda c=config, r=run: train_run(c, runs[r], verbose),
                   inputs=lambda c=config, r=run: {"config": c, **run_identity(runs[r])})
    analyses = [phases.run(f"analyse {run}", lambda r=run: analyse_run(runs[r], LABELS[r]),
                           inputs=lambda r=run: run_identity(runs[r])) for run in MODELS]
    hnn_experts = [e["label"].split(", ") for e in analyses[list(MODELS).index("hnn")]["experts"]]

    def every_run() -> list[dict[str, Any]]:
        return [run_identity(runs[r]) for r in MODELS]

    speed = phases.run("speed", lambda: {"timings": speed_of_runs(
        [(LABELS[r], runs[r]) for r in MODELS], LABELS["hnn"], hnn_experts)}, inputs=every_run)["timings"]
    command = reproduce_command(out, epochs, limit_train, limit_test)
    phases.run("report", lambda: {"report": str(write_report(
        analyses, out, title=f"condnet demo: Fashion-MNIST, {epochs} epoch(s) per model", commands=[command],
        speed=speed))}, inputs=lambda: {"runs": every_run(), "command": command})
    return out / "report.md"
