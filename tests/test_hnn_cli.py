"""condnet cutout / attend on a tiny trained HNN run, and their user errors (exit 2, one line)."""

import json

import pytest
from cli_process import assert_one_line_error

from condnet.cli.main import main
from condnet.train import save_checkpoint
from condnet.train.loading import load_run

# the first 300 Fashion-MNIST test images (the hnn_run fixture's test split) per class: Sandal 27,
# Sneaker 29, Bag 29, Ankle boot 27
SNEAKERS, FOOTWEAR, FOOTWEAR_AND_BAG = 29, 27 + 29 + 27, 27 + 29 + 29 + 27


def _expert_file(run, path, classes, always=None):
    """Save an expert for ``classes`` cut from ``run`` as `condnet cutout` does; with ``always`` (a class
    index) its head of that class is rigged (weights 0, bias 1e4) so that it answers that class for every
    image."""
    loaded = load_run(run)
    expert = loaded.model.cutout(classes)
    state = expert.state_dict()
    if always is not None:
        state[f"heads.c{always}.weight"].zero_()
        state[f"heads.c{always}.bias"].fill_(1e4)
    save_checkpoint(path, {**loaded.config.to_dict(), "model": expert.condnet_config}, state)


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
    assert report["source"] == {"kind": "full", "classes": list(range(10)),
                                "class_names": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]}
    assert main(["eval", str(expert_file), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["n"] == report["n"] and evaluated["accuracy"] == pytest.approx(report["expert_accuracy"])
    assert evaluated["params"] == report["expert"]["params"]
    assert evaluated["macs_per_sample"] == report["expert"]["macs"]


def test_cutout_from_an_expert_scores_and_names_the_source_expert(hnn_run, tmp_path, capsys):
    """Cutting Sneaker out of a footwear expert that answers Sneaker for every image: the source expert is
    right on all 29 Sneaker images (its output 1 is class 7, not class 1), and the report names the model
    it compares with as the source expert, never as the full model."""
    source, out = tmp_path / "footwear.pt", tmp_path / "sneaker.pt"
    _expert_file(hnn_run, source, ["footwear"], always=7)
    capsys.readouterr()
    assert main(["cutout", str(source), "--classes", "Sneaker", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classes"] == [7] and report["n"] == SNEAKERS
    assert report["expert_accuracy"] == 100.0 and report["full_accuracy"] == 100.0
    assert report["source"] == {"kind": "expert", "classes": [5, 7, 9],
                                "class_names": ["Sandal", "Sneaker", "Ankle boot"]}
    assert report["full"]["params"] == 39664 and report["expert"]["params"] == 23990  # footwear, Sneaker
    assert main(["cutout", str(source), "--classes", "Sneaker", "--out", str(out), "--force"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == ("  cut from an expert for Sandal, Sneaker, Ankle boot (the source expert below), "
                        "not from the full HNN")
    assert [line.split()[0] for line in lines[2:5]] == ["expert", "source", "backbone"]
    assert lines[5].startswith("  vs source ") and lines[6].startswith("  vs backbone ")
    assert lines[7] == (f"  accuracy on {SNEAKERS} test images of its classes: "
                        "expert 100.00%  source expert 100.00%")
    assert lines[8].startswith("  measured speed-up over the source expert (eager, 1 thread, batch 64): ")
    assert not any("full" in line for line in lines[2:])


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


@pytest.mark.parametrize("classes, n", [(["footwear"], FOOTWEAR), (["footwear", "Bag"], FOOTWEAR_AND_BAG)])
def test_attend_on_an_expert_a_cue_on_a_node_it_lacks_is_wrong_for_the_ceiling(hnn_run, tmp_path, capsys,
                                                                                 classes, n):
    """noisy-cue at reliability 0 on an expert: every cue names another node, so the cued node's expert is
    never right (a cued node with none of the expert's classes answers nothing, not its first class); at
    reliability 1 every cue names the image's own node: the ceiling is the expert's own accuracy when that
    node holds all its classes (footwear), else at least that."""
    expert = tmp_path / "expert.pt"
    _expert_file(hnn_run, expert, classes)
    capsys.readouterr()
    sweeps = []
    for reliability in ("0", "1"):
        assert main(["attend", str(expert), "--protocol", "noisy-cue", "--reliability", reliability,
                     "--gains", "1", "--json"]) == 0
        sweeps.append(json.loads(capsys.readouterr().out))
    never, always = sweeps
    assert never["n"] == always["n"] == n
    assert never["cue_correct"] == 0.0 and never["ceiling_accuracy"] == 0.0
    assert always["cue_correct"] == 100.0 and always["ceiling_accuracy"] >= always["no_signal_accuracy"]
    if classes == ["footwear"]:
        assert always["ceiling_accuracy"] == always["no_signal_accuracy"]
    assert main(["attend", str(expert), "--protocol", "noisy-cue", "--reliability", "0", "--gains", "1"]) == 0
    assert "  cued node's expert        0.00%  (" in capsys.readouterr().out
    assert main(["attend", str(expert), "--protocol", "group-cue", "--gains", "0", "--json"]) == 0
    silenced = json.loads(capsys.readouterr().out)  # gain 0 on the image's own node
    if classes == ["footwear"]:  # every class of the expert silenced by the prior: no answer, never right
        assert silenced["evidence_accuracy"] == [0.0]


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
