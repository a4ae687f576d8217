"""Seeds as a first-class feature: the statistics against hand-computed numbers, ``condnet compare`` on
fake run directories (text, --json, refusals), ``condnet seeds`` on tiny real runs (train, resume, skip,
refuse) and the report's error bars."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import assert_one_line_error
from fake_files import tiny_run_overrides

from condnet.analysis import figures
from condnet.analysis.report import analyse_run, models_table, pareto_points, scoring_note, write_report
from condnet.analysis.seeds import Stats, config_differences, summarise, welch_p
from condnet.cli.main import main
from condnet.config import load_config
from condnet.train import RunDir, Trainer, resolve_run_config

ROOT = Path(__file__).parents[1]
THIN = str(ROOT / "configs" / "lenet_fmnist_thin.yaml")
TINY = [*tiny_run_overrides(), "train.epochs=2"]  # two epochs: a run can stop between them
SETS = [arg for item in TINY for arg in ("--set", item)]


def _fails(capsys, argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"condnet {argv[0]}: error: ")
    assert needle in err


# --- statistics ---------------------------------------------------------------------------------------

def test_summarise_hand_computed():
    """[0.90, 0.92, 0.94]: mean 0.92; deviations -0.02, 0, 0.02, so s^2 = (0.0004 + 0.0004) / (3 - 1)
    = 0.0004 and s = 0.02."""
    stats = summarise([0.90, 0.92, 0.94])
    assert stats.n == 3 and stats.min == 0.90 and stats.max == 0.94
    assert stats.mean == pytest.approx(0.92) and stats.std == pytest.approx(0.02)
    assert summarise([92.15]) == Stats(n=1, mean=92.15, std=None, min=92.15, max=92.15)


def test_welch_p_hand_computed():
    """Welch: t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b), with
    df = (s_a^2/n_a + s_b^2/n_b)^2 / ((s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1)), p = P(|T_df| > |t|).

    - a = [0, 2], b = [5, 5]: s_a^2 = 2, s_b^2 = 0, t = (1 - 5) / sqrt(2/2 + 0) = -4, df = 1^2 / (1^2/1) = 1.
      T_1 is Cauchy: p = 1 - (2/pi) atan(4) = 1 - 0.636620 * 1.325818 = 0.155958. (Student's pooled test
      would have df = 2 and p = 1 - 4/sqrt(18) = 0.0572: this is Welch's.)
    - a = [1, 2, 3], b = [3, 4, 5]: s^2 = 1 each, t = -2 / sqrt(2/3) = -sqrt(6),
      df = (2/3)^2 / (2 (1/3)^2 / 2) = 4. For df = 4, P(|T| < t) = u (3 - u^2) / 2 with
      u = t / sqrt(t^2 + 4) = sqrt(0.6) = 0.774597: p = 1 - 0.774597 * 2.4 / 2 = 0.070484.
    """
    assert welch_p([0, 2], [5, 5]) == pytest.approx(0.155958, abs=1e-6)
    assert welch_p([1, 2, 3], [3, 4, 5]) == pytest.approx(0.070484, abs=1e-6)
    assert welch_p([1, 2, 3], [3, 4, 5]) == welch_p([3, 4, 5], [1, 2, 3])
    assert welch_p([1, 2, 3], [4]) is None  # one run: no variance to test with
    assert welch_p([5, 5], [5, 5]) is None  # no spread and equal means: undefined
    # no spread, different means: t = -0.65 / 0 is undefined too (scipy says t = -inf, p = 0.0)
    assert welch_p([92.15, 92.15], [92.8, 92.8]) is None
    assert welch_p([92.15, 92.15, 92.15], [92.8]) is None
    assert welch_p([5, 5], [0, 2]) == pytest.approx(0.155958, abs=1e-6)  # one constant sample: defined


def test_config_differences():
    a = {"model": {"name": "x"}, "train": {"seed": 0, "lr": 0.1}}
    b = {"model": {"name": "x"}, "train": {"seed": 1, "lr": 0.2}, "data": {"root": "/d"}}
    assert config_differences(a, b) == ["train.seed", "train.lr", "data"]
    assert config_differences(a, b, ignore={"train.seed"}) == ["train.lr", "data"]


# --- condnet compare on fake run directories ----------------------------------------------------------

def _fake_run(root: Path, accuracy: float | None, seed: int = 0, lr: float = 0.05, test_n: int = 10000,
              dataset: str = "fashion_mnist") -> Path:
    """A run directory as the engine writes it: config.yaml and run.json, and summary.json unless
    ``accuracy`` is None (an unfinished run)."""
    run = RunDir(root)
    run.start({"model": {"name": "lenet_fmnist_thin", "dropout": 0.185}, "data": {"dataset": dataset},
               "train": {"epochs": 20, "lr": lr, "seed": seed}})
    if accuracy is not None:
        run.write_summary({"model": "lenet_fmnist_thin", "dataset": dataset, "test_accuracy": accuracy,
                           "test_n": test_n, "params": 73994, "macs_per_sample": 5740672})
    return root


@pytest.fixture
def models(tmp_path) -> list[str]:
    """thin: 3 seeds, 91/92/93 (and an unfinished seed-3, not counted); thick: 93/94/95; one: a single run."""
    for seed, accuracy in enumerate([91.0, 92.0, 93.0, None]):
        _fake_run(tmp_path / "thin" / f"seed-{seed}", accuracy, seed)
    for seed, accuracy in enumerate([93.0, 94.0, 95.0]):
        _fake_run(tmp_path / "thick" / f"seed-{seed}", accuracy, seed, lr=0.1)
    return [str(tmp_path / "thin"), str(tmp_path / "thick"), str(_fake_run(tmp_path / "one", 80.0))]


def test_compare_table(models, capsys):
    assert main(["compare", *models]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["model", "n", "test", "accuracy", "(%)", "min", "max", "test", "images",
                                "MACs/sample", "params"]
    test_set = ["10,000", "fashion_mnist"]
    assert lines[1].split() == ["thin", "3", "92.00", "±", "1.00", "91.00", "93.00", *test_set, "5.74", "M",
                                "73,994"]
    assert lines[2].split() == ["thick", "3", "94.00", "±", "1.00", "93.00", "95.00", *test_set, "5.74", "M",
                                "73,994"]
    assert lines[3].split() == ["one", "1", "80.00", "±", "-", "80.00", "80.00", *test_set, "5.74", "M",
                                "73,994"]
    assert lines[4] == "not counted: thin/seed-3 has not finished"
    assert lines[6] == "Welch's t-test on test accuracy, p-value against thin:"
    assert lines[7].split() == ["thick", "0.0705"]  # the df = 4 case of the test above, shifted by 90
    assert lines[8].split() == ["one", "n/a", "(needs", "2", "runs", "per", "model)"]


def test_compare_json_and_labels(models, capsys):
    assert main(["compare", *models, "--json", "--labels", "A,B,C"]) == 0
    result = json.loads(capsys.readouterr().out)
    first = result["models"][0]
    assert first["label"] == "A" and first["n"] == 3
    assert first["runs"] == [f"{models[0]}/seed-{i}" for i in range(3)]
    assert first["unfinished"] == [f"{models[0]}/seed-3"] and result["models"][1]["unfinished"] == []
    assert first["test_accuracy"] == {"n": 3, "mean": 92.0, "std": 1.0, "min": 91.0, "max": 93.0}
    assert first["dataset"] == "fashion_mnist" and first["test_n"] == 10000
    assert first["macs_per_sample"] == 5740672 and first["params"] == 73994
    assert result["models"][2]["test_accuracy"]["std"] is None
    pairs = {(p["a"], p["b"]): p["p"] for p in result["welch_p"]}
    assert pairs.keys() == {("A", "B"), ("A", "C"), ("B", "C")}
    assert pairs[("A", "B")] == pytest.approx(0.070484, abs=1e-6)
    assert pairs[("A", "C")] is None and pairs[("B", "C")] is None
    reasons = {(p["a"], p["b"]): p["reason"] for p in result["welch_p"]}
    assert reasons == {("A", "B"): None, ("A", "C"): "needs 2 runs per model",
                       ("B", "C"): "needs 2 runs per model"}


def test_compare_refusals(models, tmp_path, capsys):
    _fake_run(tmp_path / "mixed" / "seed-0", 90.0, 0)
    _fake_run(tmp_path / "mixed" / "seed-1", 91.0, 1, lr=0.2)
    (tmp_path / "empty").mkdir()
    _fake_run(tmp_path / "other" / "seed-0", 85.0)
    _fails(capsys, ["compare", str(tmp_path / "mixed")],
           f"{tmp_path}/mixed/seed-1 differs from {tmp_path}/mixed/seed-0 in train.lr; the runs of one model")
    _fails(capsys, ["compare", str(tmp_path / "empty")], "holds no finished run")
    _fails(capsys, ["compare", str(tmp_path / "nowhere")], "is not a directory")
    _fails(capsys, ["compare", f"{models[0]}/seed-3"], "has no summary.json; the run has not finished")
    _fails(capsys, ["compare", *models, "--labels", "A,B"], "--labels needs 3 non-empty comma-separated")
    _fails(capsys, ["compare", f"{models[0]}/seed-0", str(tmp_path / "other" / "seed-0")],
           "two models are labelled 'seed-0'; name them with --labels")
    assert_one_line_error(["compare", str(tmp_path / "empty")], "holds no finished run")  # a real process


def test_runs_of_one_seed_are_refused_not_counted_twice(tmp_path, capsys):
    """seed-0 copied to seed-0-rerun would make n = 4 and the std 0.96 instead of 1.00 (and every p-value
    smaller): compare, report and attend refuse the directory, naming both runs and the fix."""
    for seed, accuracy in enumerate([91.0, 92.0, 93.0]):
        _fake_run(tmp_path / "thin" / f"seed-{seed}", accuracy, seed)
    _fake_run(tmp_path / "thin" / "seed-0-rerun", 91.0, 0)
    thin = tmp_path / "thin"
    message = (f"{thin}/seed-0 and {thin}/seed-0-rerun have the same train.seed 0: they are one sample, "
               "not 2, and would make the std and p-values too small; keep one of them and remove the "
               f"others or move them out of {thin}")
    _fails(capsys, ["compare", str(thin)], message)
    _fails(capsys, ["report", str(thin), "--out", str(tmp_path / "report")], message)
    _fails(capsys, ["attend", str(thin), "--protocol", "group-cue", "--gains", "1"], message)
    assert_one_line_error(["compare", str(thin)], message)  # a real process: exit 2, no traceback
    shutil.move(thin / "seed-0-rerun", tmp_path / "seed-0-rerun")  # the fix the message names
    assert main(["compare", str(thin), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["test_accuracy"]["n"] == 3


def test_runs_of_one_model_on_other_test_images_are_refused(tmp_path, capsys):
    """Same config (the data changed between the trainings), 10,000 against 9,000 test images."""
    _fake_run(tmp_path / "thin" / "seed-0", 91.0, 0)
    _fake_run(tmp_path / "thin" / "seed-1", 93.0, 1, test_n=9000)
    thin = tmp_path / "thin"
    _fails(capsys, ["compare", str(thin)],
           f"{thin}/seed-1 was scored on 9,000 fashion_mnist test images, {thin}/seed-0 on 10,000 "
           "fashion_mnist; the runs of one model must be scored on the same test images")
    (thin / "seed-1" / "summary.json").write_text(json.dumps({"test_accuracy": 93.0, "params": 73994,
                                                             "macs_per_sample": 5740672}))
    _fails(capsys, ["compare", str(thin)], f"{thin}/seed-1/summary.json does not say which test images the "
                                           "run was scored on (dataset and test_n); it is damaged")


def test_no_p_value_between_models_on_other_test_images(models, tmp_path, capsys):
    """thin (91, 92, 93 on 10,000 test images) against quick (70, 80 on the first 200) or on mnist: Welch's
    p would be 0.178 and 0.0705 (the thick numbers), but the accuracies are of other images."""
    for seed, accuracy in enumerate([70.0, 80.0]):
        _fake_run(tmp_path / "quick" / f"seed-{seed}", accuracy, seed, test_n=200)
    for seed, accuracy in enumerate([93.0, 94.0, 95.0]):
        _fake_run(tmp_path / "digits" / f"seed-{seed}", accuracy, seed, dataset="mnist")
    argv = ["compare", models[0], str(tmp_path / "quick"), str(tmp_path / "digits")]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[:9] == ["quick", "2", "75.00", "±", "7.07", "70.00", "80.00", "200",
                                    "fashion_mnist"]
    assert lines[3].split()[7:9] == ["10,000", "mnist"]
    assert lines[5] == ("not comparable: the models were not all scored on the same test images (see test "
                        "images); no p-value between models scored on different ones")
    assert lines[8:] == [
        "  quick   n/a (scored on other test images: 200 fashion_mnist against 10,000 fashion_mnist)",
        "  digits  n/a (scored on other test images: 10,000 mnist against 10,000 fashion_mnist)"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(m["dataset"], m["test_n"]) for m in result["models"]] == [
        ("fashion_mnist", 10000), ("fashion_mnist", 200), ("mnist", 10000)]
    assert [p["p"] for p in result["welch_p"]] == [None, None, None]
    assert result["welch_p"][2]["reason"] == ("scored on other test images: 10,000 mnist against 200 "
                                              "fashion_mnist")


def test_no_p_value_between_models_without_spread(tmp_path, capsys):
    """92.15, 92.15 against 92.8, 92.8: scipy's t is -inf and its p 0.0; the test is undefined."""
    for name, accuracy in (("a", 92.15), ("b", 92.8)):
        for seed in (0, 1):
            _fake_run(tmp_path / name / f"seed-{seed}", accuracy, seed)
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:5] == ["a", "2", "92.15", "±", "0.00"]
    assert lines[-1] == "  b  n/a (no spread in either model)"
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["welch_p"] == [
        {"a": "a", "b": "b", "p": None, "reason": "no spread in either model"}]


# --- condnet seeds on tiny real runs -------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory) -> tuple[Path, str, str]:
    """Seed 1 started and stopped after epoch 1 (as `condnet train` would leave it), then `condnet seeds
    --seeds 0,1` in a real process: trains seed 0, resumes seed 1. Returns the directory, the command's
    output and seed 1's run id."""
    out = tmp_path_factory.mktemp("seeds") / "thin"
    trainer = Trainer(load_config(THIN, ["train.seed=1", *TINY]), out / "seed-1", verbose=False)
    real_epoch = Trainer.train_epoch

    def killed_in_epoch_2(self):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return real_epoch(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "train_epoch", killed_in_epoch_2)
        with pytest.raises(KeyboardInterrupt):
            trainer.fit()
    run_id = RunDir(out / "seed-1").read_identity()["run_id"]
    proc = subprocess.run([sys.executable, "-m", "condnet.cli.main", "seeds", THIN, "--seeds", "0,1", "--out",
                           str(out), *SETS], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout, run_id


def test_seeds_trains_and_resumes(seeds_run):
    out, printed, run_id = seeds_run
    lines = printed.splitlines()
    assert lines[0] == f"training 2 seed(s) into {out}, 1 at a time"
    assert lines[1].startswith("seed 0: test ") and "(trained in" in lines[1]
    assert lines[2].startswith("seed 1: test ") and "(resumed in" in lines[2]
    assert lines[4].split()[:2] == ["model", "n"] and lines[5].split()[:2] == ["thin", "2"]
    resumed = RunDir(out / "seed-1")
    assert resumed.read_identity()["run_id"] == run_id  # the same run, continued
    assert [r["epoch"] for r in resumed.read_metrics()] == [1, 2]
    for seed in (0, 1):  # exactly what `condnet train --config THIN --set train.seed=N ...` writes
        wanted = resolve_run_config(load_config(THIN, [f"train.seed={seed}", *TINY]), locate_data=True)
        assert RunDir(out / f"seed-{seed}").read_config() == wanted.to_dict()


def test_seeds_again_skips_finished_seeds(seeds_run, capsys):
    out, _, _ = seeds_run
    stamps = [os.stat(out / f"seed-{s}" / "summary.json").st_mtime_ns for s in (0, 1)]
    assert main(["seeds", THIN, "--seeds", "0,1", "--out", str(out), *SETS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.endswith("(finished before: skipped)") for line in lines[:2]] == [True, True]
    assert stamps == [os.stat(out / f"seed-{s}" / "summary.json").st_mtime_ns for s in (0, 1)]


def test_seeds_refuses_a_seed_of_another_config(seeds_run, capsys):
    out, _, _ = seeds_run
    before = sorted(p.name for p in out.iterdir())
    _fails(capsys, ["seeds", THIN, "--seeds", "0,2", "--out", str(out), *SETS, "--set", "train.lr=0.02"],
           f"{out / 'seed-0'} holds a run whose config differs in train.lr; pass --force to replace it")
    assert sorted(p.name for p in out.iterdir()) == before  # seed-2 was not started either


@pytest.mark.parametrize("argv, needle", [
    ([THIN, "--seeds", "0,1,1"], "--seeds '0,1,1' has seed 1 twice"),
    ([THIN, "--seeds", "0,-1"], "has negative seed -1"),
    ([THIN, "--seeds", "0,x"], "--seeds must be comma-separated integers"),
    ([THIN, "--seeds", "0", "--jobs", "0"], "--jobs must be between 1 and"),
    ([THIN, "--seeds", "0", "--jobs", str((os.cpu_count() or 1) + 1)], "(one training per core)"),
    ([THIN, "--seeds", "0", "--set", "train.seed=3"], "--set train.seed conflicts with --seeds"),
    ([THIN, "--seeds", "0", "--set", "train.epochs=0"], "train.epochs must be >= 1"),
    (["missing.yaml", "--seeds", "0"], "config file missing.yaml not found"),
    pytest.param([THIN, "--seeds", "0", "--jobs", "2", "--set", "train.threads=2"],
                 "train.threads is 2, but with --jobs 2 each training gets one core",
                 marks=pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores")),
])
def test_seeds_checks_before_training(argv, needle, tmp_path, capsys):
    _fails(capsys, ["seeds", *argv, "--out", str(tmp_path / "out")], needle)
    assert not (tmp_path / "out").exists()


def test_a_failed_training_is_reported_and_the_others_go_on(tmp_path, capsys):
    """The trainings fail in their subprocesses (the validation split is checked when the data is read)."""
    jobs = str(min(2, os.cpu_count() or 1))
    assert main(["seeds", THIN, "--seeds", "0,1", "--jobs", jobs, "--out", str(tmp_path / "out"), *SETS,
                 "--set", "data.val_size=60000"]) == 2
    printed = capsys.readouterr()
    error = "condnet train: error: data.val_size must be in [0, 59999], got 60000"
    assert sorted(printed.out.splitlines()[1:]) == [f"seed {s}: failed: {error}" for s in (0, 1)]
    assert printed.err == ("condnet seeds: error: seed(s) 0, 1 failed (see the lines above); fix the cause "
                           "and run the same command again: finished seeds are skipped\n")


def test_report_shows_mean_and_error_bar(seeds_run, tmp_path):
    out, _, _ = seeds_run
    analysis = analyse_run(out)
    assert analysis["name"] == "thin" and analysis["seeds"]["n"] == 2
    assert analysis["scoring"] == {"dataset": "fashion_mnist", "test_n": 16, "limit_test": 16, "val_n": 16}
    report = write_report([analysis, analyse_run(out / "seed-0")], tmp_path / "report").read_text()
    assert report.splitlines()[2].startswith(
        "All accuracies are on the first 16 test images of fashion_mnist (data.limit_test 16). Models "
        "selected on the validation split (16 images). MACs per sample count")
    accuracy = analysis["seeds"]["test_accuracy"]
    shown = f"{accuracy['mean']:.2f} ± {accuracy['std']:.2f} (2 seeds)"
    assert f"| thin | lenet_fmnist_thin | baseline | {shown} |" in report
    assert "| seed-0 | lenet_fmnist_thin | baseline | " in report
    assert (tmp_path / "report" / "figures" / "pareto.png").exists()


def test_report_names_unfinished_seeds():
    run = {"label": "thin", "kind": "baseline",
           "eval": {"model": "lenet_fmnist_thin", "macs_per_sample": 5740672, "params": 73994},
           "seeds": {"n": 2, "test_accuracy": {"mean": 92.5, "std": 0.5}, "unfinished": ["thin/seed-2"]}}
    row = models_table([run]).splitlines()[2]
    assert row == ("| thin | lenet_fmnist_thin | baseline | 92.50 ± 0.50 (2 seeds; 1 unfinished not counted) "
                   "| 5.74 M | 100.0% | 73,994 |")


def test_report_says_a_run_without_validation_split_is_its_last_epoch(seeds_run, tmp_path):
    """data.val_size 0: no model selection, the checkpoint is the last epoch's; the header says so for that
    run only."""
    last = tmp_path / "last-epoch"
    Trainer(load_config(THIN, [*TINY, "train.epochs=1", "data.val_size=0"]), last, verbose=False).fit()
    analysis = analyse_run(last)
    assert analysis["scoring"] == {"dataset": "fashion_mnist", "test_n": 16, "limit_test": 16, "val_n": 0}
    out, _, _ = seeds_run
    header = write_report([analyse_run(out), analysis], tmp_path / "report").read_text().splitlines()[2]
    assert header.startswith(
        "All accuracies are on the first 16 test images of fashion_mnist (data.limit_test 16). Models "
        "selected on the validation split (16 images) for thin; taken at their last epoch (no validation "
        "split: data.val_size 0) for last-epoch. MACs per sample count")


def _analysed(label: str, test_n: int, limit_test: int | None, val_n: int) -> dict:
    return {"label": label, "kind": "baseline",
            "eval": {"model": "lenet_fmnist_thin", "macs_per_sample": 5740672, "params": 73994,
                     "accuracy": 90.0},
            "scoring": {"dataset": "fashion_mnist", "test_n": test_n, "limit_test": limit_test,
                        "val_n": val_n}}


def test_report_header_and_table_name_the_test_images_of_each_run():
    full, quick = _analysed("full", 10000, None, 5000), _analysed("quick", 200, 200, 0)
    assert scoring_note([full, _analysed("again", 10000, None, 5000)]) == (
        "All accuracies are on the 10,000 test images of fashion_mnist. Models selected on the validation "
        "split (5,000 images).")
    assert scoring_note([full, quick]) == (
        "Accuracies are on different test images, not comparable between these groups: the 10,000 test "
        "images of fashion_mnist for full; the first 200 test images of fashion_mnist (data.limit_test 200) "
        "for quick. Models selected on the validation split (5,000 images) for full; taken at their last "
        "epoch (no validation split: data.val_size 0) for quick.")
    rows = models_table([full, quick]).splitlines()[2:]
    assert rows == ["| full | lenet_fmnist_thin | baseline | 90.00 (10,000 fashion_mnist test images) "
                    "| 5.74 M | 100.0% | 73,994 |",
                    "| quick | lenet_fmnist_thin | baseline | 90.00 (200 fashion_mnist test images) "
                    "| 5.74 M | 100.0% | 73,994 |"]
    assert "test images" not in models_table([full])  # all alike: said once, in the header


def test_report_figure_of_runs_on_different_test_images_names_them_and_draws_no_front(monkeypatch, tmp_path):
    full, quick = _analysed("full", 10000, None, 5000), _analysed("quick", 200, 200, 0)
    assert [p.get("test_images") for p in pareto_points([full, _analysed("again", 10000, None, 5000)])] == \
        [None, None]
    points = pareto_points([full, quick])
    assert [p["test_images"] for p in points] == ["10,000 fashion_mnist", "200 fashion_mnist"]
    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or Path(path))
    figures.plot_pareto(points, tmp_path / "pareto.png")
    axes = drawn[0].axes[0]
    assert "not comparable" in axes.get_title()
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "full (baseline, on 10,000 fashion_mnist test images)",
        "quick (baseline, on 200 fashion_mnist test images)"]
    assert not axes.lines  # no Pareto front across different test images
    figures.plot_pareto(pareto_points([full, _analysed("again", 10000, None, 5000)]), tmp_path / "same.png")
    assert len(drawn[1].axes[0].lines) == 1 and "not comparable" not in drawn[1].axes[0].get_title()
