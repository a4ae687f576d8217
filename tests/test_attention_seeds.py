"""`condnet attend` over the seeds of one model: statistics checked against hand-computed numbers, and the
command on a directory of runs."""

import json
import math
import shutil

import pytest
import yaml

from condnet.analysis.attention import Sweep, mean_sweep, summarise_sweeps
from condnet.cli.attend_cmd import describe_seeds
from condnet.cli.main import main
from condnet.errors import CondnetError


def _sweep(no_signal: float, features: list[float], evidence: list[float], ceiling: float) -> Sweep:
    return Sweep("group-cue", [1.0, 2.0], features, no_signal, 100, 100, groups=["a", "b"], level=1,
                 evidence_accuracy=evidence, ceiling_accuracy=ceiling)


def test_summary_over_seeds_pairs_each_change_with_its_own_seed():
    summary = summarise_sweeps([_sweep(90.0, [90.0, 91.0], [90.0, 90.5], 93.0),
                                _sweep(92.0, [92.0, 95.0], [92.0, 92.5], 94.0)])
    assert summary["seeds"] == 2 and summary["no_signal"]["mean"] == 91.0
    assert summary["no_signal"]["std"] == pytest.approx(math.sqrt(2))  # (90, 92): sample std sqrt(2)
    gain2 = summary["gains"][1]
    assert gain2["features"]["mean"] == 93.0 and gain2["features"]["std"] == pytest.approx(math.sqrt(8))
    # changes per seed: +1 and +3 -> mean 2, sample std sqrt(2) (not the unpaired sqrt(8) + sqrt(2))
    assert gain2["features_change"]["mean"] == 2.0
    assert gain2["features_change"]["std"] == pytest.approx(math.sqrt(2))
    assert gain2["evidence_change"] == {"n": 2, "mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert summary["ceiling_change"]["mean"] == 2.5 and summary["ceiling_change"]["min"] == 2.0


def test_one_seed_is_shown_without_a_spread():
    text = describe_seeds(summarise_sweeps([_sweep(90.0, [90.0, 91.0], [90.0, 90.5], 93.0)]), ["runs/seed-0"])
    assert text.splitlines() == [
        "group-cue at level 1 (a, b) on 100 test images, 1 seed (seed-0)",
        "  no signal                 90.00%",
        "  cued node's expert        93.00%  (+3.00)",
        "  gain    features (head)                evidence prior",
        "  1       90.00% (+0.00)                 90.00% (+0.00)",
        "  2       91.00% (+1.00)                 90.50% (+0.50)"]


def test_sweeps_of_different_settings_are_not_summarised():
    other = _sweep(90.0, [90.0, 91.0], [90.0, 90.5], 93.0)
    other.level = 2
    with pytest.raises(CondnetError, match="differ in protocol, level, gains or images"):
        summarise_sweeps([_sweep(90.0, [90.0, 91.0], [90.0, 90.5], 93.0), other])


def test_attend_on_a_seeds_dir_sweeps_every_seed(hnn_run, tmp_path, capsys):
    seeds = tmp_path / "seeds"
    for seed, name in enumerate(("seed-0", "seed-1", "seed-2")):
        shutil.copytree(hnn_run, seeds / name)
        config = yaml.safe_load((seeds / name / "config.yaml").read_text())
        config["train"]["seed"] = seed  # copies of one seed would be refused as one sample counted thrice
        (seeds / name / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (seeds / "seed-2" / "summary.json").unlink()  # a seed still training: named, not counted
    args = ["--protocol", "group-cue", "--level", "2", "--gains", "1,4", "--limit", "100", "--json"]
    capsys.readouterr()
    assert main(["attend", str(hnn_run), *args]) == 0
    single = json.loads(capsys.readouterr().out)
    assert main(["attend", str(seeds), *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seeds"] == 2 and [p.rsplit("/", 1)[1] for p in summary["runs"]] == ["seed-0", "seed-1"]
    assert [p.rsplit("/", 1)[1] for p in summary["unfinished"]] == ["seed-2"]
    assert summary["no_signal"]["mean"] == pytest.approx(single["no_signal_accuracy"])
    assert summary["no_signal"]["std"] == 0.0
    assert [r["features"]["mean"] for r in summary["gains"]] == pytest.approx(single["accuracy"])
    assert [r["evidence"]["mean"] for r in summary["gains"]] == pytest.approx(single["evidence_accuracy"])
    assert main(["attend", str(seeds), *args[:-1]]) == 0
    text = capsys.readouterr().out
    assert "2 seeds (seed-0, seed-1; not finished, not counted: seed-2): mean ± std over seeds" in text
    assert "± 0.00" in text


def test_mean_sweep_averages_every_accuracy():
    mean = mean_sweep([_sweep(90.0, [90.0, 91.0], [90.0, 90.5], 93.0),
                       _sweep(92.0, [92.0, 95.0], [92.0, 92.5], 94.0)])
    assert mean.no_signal_accuracy == 91.0 and mean.accuracy == [91.0, 93.0]
    assert mean.evidence_accuracy == [91.0, 91.5] and mean.ceiling_accuracy == 93.5 and mean.level == 1
