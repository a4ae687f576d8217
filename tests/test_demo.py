"""The demo end to end on a slice of Fashion-MNIST: report tables, figures with drawn content, phase reuse,
and agreement with `condnet eval --json`."""

import re
import shlex
import shutil

import matplotlib.image
import numpy as np
import pytest

from condnet.analysis.evaluation import evaluate_run
from condnet.demo import run_demo
from condnet.demo.phases import PhaseRunner
from condnet.demo.pipeline import WEIGHTS
from condnet.train.loading import load_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    report = run_demo(out, epochs=1, limit_train=300, limit_test=200, verbose=False)
    return out, report


def test_report_has_every_table(tiny_demo):
    _, report = tiny_demo
    text = report.read_text()
    for heading in ("## Models", "## Cutout experts of HNN", "## Top-down attention on HNN",
                    "## Hierarchy of HNN", "## CIGT routing", "test images per class and leaf path",
                    "## Measured speed", "## Reproduce"):
        assert heading in text, heading
    for run in ("thick backbone", "thin (one CIGT path)", "HNN (LeNet)", "CIGT [1,2,4]",
                "CIGT random routing"):
        assert f"| {run}" in text
    for protocol in ("group-cue", "inhibit-distractors", "noisy-cue"):
        assert f"| {protocol}" in text
    for expert in ("| clothing |", "| footwear |", "| tops |", "| T-shirt/top |"):
        assert expert in text


def test_every_figure_is_a_png_with_drawn_content(tiny_demo):
    out, report = tiny_demo
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text())
    assert {"figures/pareto.png", "figures/savings_hnn.png", "figures/attention_hnn.png",
            "figures/tree_hnn.png", "figures/routes_cigt.png",
            "figures/routes_cigt_random.png"} <= set(images)
    for name in images:
        path = out / name
        assert path.read_bytes()[:8] == PNG_MAGIC
        pixels = matplotlib.image.imread(path)[..., :3]
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300
        non_white = np.mean(np.any(pixels < 0.9, axis=-1))
        assert non_white > 0.02, f"{name} is almost blank ({non_white:.3%} drawn pixels)"
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10, f"{name} has too few colours to be a plot"


def test_speed_table_times_every_model_and_expert(tiny_demo):
    _, report = tiny_demo
    section = report.read_text().split("## Measured speed")[1].split("## Reproduce")[0]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| ") and not line.startswith("| model")}
    expected = ["thick backbone (LeNet)", "thin (one CIGT path)", "HNN (LeNet)", "CIGT [1,2,4]",
                "CIGT random routing", "clothing", "footwear", "tops", "T-shirt/top"]
    assert list(rows) == expected
    assert rows["thick backbone (LeNet)"][5:] == ["1.00x", "1.00x"]  # the reference
    for label, cells in rows.items():
        timed = cells[1:5] if label != "CIGT random routing" else cells[1:3]  # random routes: eager only
        assert all(float(c) > 0 for c in timed), (label, cells)
    assert rows["CIGT random routing"][3:6] == ["n/a", "n/a", "n/a"]
    assert "- CIGT random routing: a randomly routed trellis" in section


def test_report_numbers_agree_with_eval(tiny_demo):
    out, report = tiny_demo
    text = report.read_text()
    for run, label in (("backbone", "thick backbone (LeNet)"), ("cigt", "CIGT [1,2,4]")):
        result = evaluate_run(load_run(out / "runs" / run))
        row = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[3] == f"{result['accuracy']:.2f}"
        assert cells[4].startswith(f"{result['macs_per_sample'] / 1e6:,.2f} M")
        assert cells[6] == f"{result['params']:,}"


def test_rerun_reuses_finished_phases_and_fresh_redoes_them(tiny_demo, capsys):
    out, report = tiny_demo
    before = report.stat().st_mtime_ns
    run_demo(out, epochs=1, limit_train=300, limit_test=200)
    printed = capsys.readouterr().out
    assert printed.count(": reused ") == len(WEIGHTS) * 2 + 2  # train and analyse each run, speed, report
    assert report.stat().st_mtime_ns == before


def test_rerun_redoes_the_phases_of_a_run_whose_summary_changed(tiny_demo, tmp_path, capsys):
    out = tmp_path / "demo"
    shutil.copytree(tiny_demo[0], out)
    summary = out / "runs" / "thin" / "summary.json"
    summary.write_text(summary.read_text().replace('"epochs": 1', '"epochs": 1 '))  # e.g. scored again
    run_demo(out, epochs=1, limit_train=300, limit_test=200)
    lines = capsys.readouterr().out.splitlines()
    redone = [line.split("] ")[1].split(" ...")[0] for line in lines if "(its inputs changed" in line]
    assert redone == ["train thin", "analyse thin", "speed", "report"]


def test_phase_files_of_an_older_condnet_are_not_reused(tmp_path):
    phases = PhaseRunner(tmp_path, {"a": 1, "b": 1}, echo=lambda _: None)
    (tmp_path / "phases").mkdir()
    (tmp_path / "phases" / "a.json").write_text('{"stale": true}')  # a result stored without its inputs
    assert phases.run("a", lambda: {"fresh": 1}) == {"fresh": 1}
    assert phases.run("b", lambda: {"b": 1}, inputs=lambda: {"x": 1}) == {"b": 1}
    again = PhaseRunner(tmp_path, {"a": 1, "b": 1}, echo=lambda _: None)
    assert again.run("a", lambda: {"fresh": 2}) == {"fresh": 1}  # same (no) inputs: reused
    assert again.run("b", lambda: {"b": 2}, inputs=lambda: {"x": 2}) == {"b": 2}  # other inputs: redone


@pytest.mark.parametrize("run, config", [("backbone", "lenet_fmnist_thick"), ("thin", "lenet_fmnist_thin"),
                                         ("hnn", "hnn_lenet_fmnist"), ("cigt", "cigt_lenet_fmnist"),
                                         ("cigt_random", "cigt_lenet_fmnist_random")])
def test_demo_models_are_those_of_the_configs(run, config):
    """Only the schedule-dependent CIGT keys (warm-up, temperature decay) differ from configs/."""
    from pathlib import Path

    from condnet.config import read_yaml
    from condnet.demo.recipes import demo_config

    shipped = read_yaml(Path(__file__).parents[1] / "configs" / f"{config}.yaml")
    demo = demo_config(run, epochs=shipped["train"]["epochs"], train_images=55_000)
    scaled = {"warmup_epochs", "temperature_decay"}
    assert {k: v for k, v in demo["model"].items() if k not in scaled} == \
        {k: v for k, v in shipped["model"].items() if k not in scaled}
    assert demo["data"]["dataset"] == shipped["data"]["dataset"]
    assert demo["data"]["batch_size"] == shipped["data"]["batch_size"]
    assert {k: demo["train"][k] for k in shipped["train"]} == shipped["train"]
    if run.startswith("cigt"):  # the demo's scaling gives the shipped 40-epoch warm-up and temperature decay
        # 1/6, as paper B's 25/150
        assert demo["model"]["warmup_epochs"] == shipped["model"]["warmup_epochs"] == 6
        assert demo["model"]["temperature_decay"] == pytest.approx(shipped["model"]["temperature_decay"],
                                                                   abs=1e-6)
        steps = 40 * 440
        temperature = (demo["model"]["temperature_initial"]
                       * demo["model"]["temperature_decay"] ** (0.7 * steps))
        assert temperature == pytest.approx(demo["model"]["temperature_min"])


def test_report_command_builds_the_report_from_existing_runs(tiny_demo, tmp_path, capsys):
    from condnet.cli.main import main

    out, _ = tiny_demo
    runs = [str(out / "runs" / r) for r in ("backbone", "hnn", "cigt")]
    target = tmp_path / "my report"  # a space: the Reproduce line must quote it
    assert main(["report", *runs, "--out", str(target)]) == 0
    text = (target / "report.md").read_text()
    reproduce = text.split("## Reproduce")[1].split("```")[1].strip()
    assert shlex.split(reproduce) == ["condnet", "report", *runs, "--out", str(target)]
    for heading in ("## Models", "## Cutout experts of hnn", "## Top-down attention on hnn",
                    "## CIGT routing"):
        assert heading in text, heading
    accuracy = evaluate_run(load_run(out / "runs" / "hnn"))["accuracy"]
    assert f"| hnn | hnn_lenet_fmnist | hnn | {accuracy:.2f} |" in text
    assert (target / "figures" / "pareto.png").read_bytes()[:8] == PNG_MAGIC
    assert "report:" in capsys.readouterr().out


@pytest.mark.parametrize("limits, options", [
    ({"limit_train": 300}, ["--limit-train", "300"]),
    ({"limit_test": 200}, ["--limit-test", "200"]),
    ({"limit_train": 300, "limit_test": 200}, ["--limit-train", "300", "--limit-test", "200"]),
    ({}, []),
])
def test_reproduce_command_names_only_the_options_given(limits, options, tmp_path, monkeypatch):
    """The report's Reproduce line, from run_demo with training, analysis and timing stubbed out; argparse
    must accept it (a --limit-test None, as written before, it refuses)."""
    import shlex

    from condnet.cli.main import build_parser
    from condnet.demo import pipeline

    written = {}
    monkeypatch.setattr(pipeline, "train_run", lambda config, run_dir, verbose=True: {})
    monkeypatch.setattr(pipeline, "analyse_run", lambda path, label: {"experts": []})
    monkeypatch.setattr(pipeline, "speed_of_runs", lambda runs, hnn, experts: [])
    monkeypatch.setattr(pipeline, "write_report", lambda analyses, out, title, commands, speed:
                        written.setdefault("commands", commands))
    out = tmp_path / "demo"
    run_demo(out, epochs=2, verbose=False, **limits)
    assert written["commands"] == [" ".join(["condnet", "demo", "--epochs", "2", "--out", str(out),
                                             *options])]
    args = build_parser().parse_args(shlex.split(written["commands"][0])[1:])
    assert (args.epochs, args.out, args.limit_train, args.limit_test) == (
        2, str(out), limits.get("limit_train"), limits.get("limit_test"))
