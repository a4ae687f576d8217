"""condnet cutout / attend on a tiny trained HNN run, and their user errors (exit 2, one line)."""

import json

import pytest
from cli_process import assert_one_line_error

from condnet.cli.main import main


def test_cutout_report_and_expert_file(hnn_run, tmp_path, capsys):
    capsys.readouterr()
    expert_file = tmp_path / "footwear.pt"
    assert main(["cutout", str(hnn_run), "--classes", "footwear,Bag", "--out", str(expert_file),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classes"] == [5, 7, 8, 9]
    assert report["class_names"] == ["Sandal", "Sneaker", "Bag", "Ankle boot"]
    assert report["expert"]["params"] < report["full"]["params"] < report["backbone"]["params"]
    assert report["reduction_vs_full"]["macs"] == pytest.approx(
        100 * (1 - report["expert"]["macs"] / report["full"]["macs"]))
    assert report["backbone"]["params"] == 786634  # the plain lenet_fmnist_thick
    assert main(["eval", str(expert_file), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["n"] == report["n"] and evaluated["accuracy"] == pytest.approx(report["expert_accuracy"])
    assert evaluated["params"] == report["expert"]["params"]
    assert evaluated["macs_per_sample"] == report["expert"]["macs"]


def test_attend_sweep(hnn_run, tmp_path, capsys):
    capsys.readouterr()
    plot = tmp_path / "sweep.png"
    assert main(["attend", str(hnn_run), "--protocol", "noisy-cue", "--gains", "0,1,4",
                 "--reliability", "0.5", "--json", "--plot", str(plot)]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert sweep["n"] == 300 and sweep["gains"] == [0.0, 1.0, 4.0]
    assert sweep["accuracy"][1] == sweep["evidence_accuracy"][1] == sweep["no_signal_accuracy"]  # gain 1
    assert sweep["cued"] == 300 and 30 < sweep["cue_correct"] < 70 and sweep["level"] == 1
    assert sweep["groups"] == ["clothing", "footwear", "Bag"] and sweep["feature_mode"] == "head"
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_attend_level_two_side_by_side(hnn_run, capsys):
    """A correct cue one level down: the cued node's expert is the ceiling; the evidence prior at a huge
    gain reaches it, and the text shows every column."""
    capsys.readouterr()
    assert main(["attend", str(hnn_run), "--protocol", "group-cue", "--level", "2", "--gains", "1,1e9",
                 "--json"]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert sweep["groups"] == ["tops", "Trouser", "Dress", "Sandal", "Sneaker", "Bag", "Ankle boot"]
    assert sweep["evidence_accuracy"][1] == sweep["ceiling_accuracy"] >= sweep["no_signal_accuracy"]
    assert main(["attend", str(hnn_run), "--protocol", "group-cue", "--level", "2", "--gains", "2"]) == 0
    text = capsys.readouterr().out
    assert "cued node's expert" in text and "features (head)" in text and "evidence prior" in text


@pytest.mark.parametrize("argv, needle", [
    (["cutout", "{run}", "--classes", "shoes", "--out", "{tmp}/x.pt"], "unknown class or group 'shoes'"),
    (["attend", "{run}", "--protocol", "group-cue", "--gains", "1,-1"], "gains must be finite and >= 0"),
    (["attend", "{run}", "--protocol", "group-cue", "--gains", "nan"], "gains must be finite and >= 0"),
    (["attend", "{run}", "--protocol", "noisy-cue", "--reliability", "1.5"], "reliability must be in [0, 1]"),
    (["attend", "{run}", "--protocol", "group-cue", "--level", "4"], "--level must be in 1..3"),
])
def test_cli_errors_one_line(hnn_run, tmp_path, argv, needle):
    argv = [a.format(run=hnn_run, tmp=tmp_path) for a in argv]
    assert_one_line_error(argv, needle)
    assert not (tmp_path / "x.pt").exists()
