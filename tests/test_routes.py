"""Routing analysis: counts and information measures on hand-made routes, the heatmap, `condnet routes`."""

import json
import math

import pytest
import torch

from condnet.analysis.routes import leaf_paths, plot_routes, route_statistics
from condnet.cli.main import main

LN2 = math.log(2)


def test_routes_that_separate_classes():
    # class 0 takes path 0-0-1, class 1 takes path 0-1-3 (two samples each)
    routes = torch.tensor([[0, 0, 1], [0, 0, 1], [0, 1, 3], [0, 1, 3]])
    labels = torch.tensor([0, 0, 1, 1])
    stats = route_statistics(routes, labels, [1, 2, 4], ["a", "b"], predictions=torch.tensor([0, 1, 1, 1]))
    assert leaf_paths(routes, [1, 2, 4]).tolist() == [1, 1, 7, 7]
    assert stats.path_names == ["0-0-0", "0-0-1", "0-0-2", "0-0-3", "0-1-0", "0-1-1", "0-1-2", "0-1-3"]
    assert stats.layer_counts == [[[2], [2]], [[2, 0], [0, 2]], [[0, 2, 0, 0], [0, 0, 0, 2]]]
    assert stats.path_counts_by_class == [[0, 2, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 2]]
    assert stats.route_entropy == pytest.approx(LN2, abs=1e-9)
    assert stats.mutual_information == pytest.approx(LN2, abs=1e-9)
    assert stats.layer_mutual_information == pytest.approx([0.0, LN2, LN2], abs=1e-9)
    assert stats.accuracy == 75.0 and stats.n == 4


def test_routes_independent_of_class():
    routes = torch.tensor([[0, 0], [0, 1], [0, 0], [0, 1], [0, 2], [0, 2]])
    labels = torch.tensor([0, 0, 1, 1, 0, 1])
    stats = route_statistics(routes, labels, [1, 3], ["a", "b"])
    assert stats.mutual_information == pytest.approx(0.0, abs=1e-9)
    assert stats.route_entropy == pytest.approx(math.log(3), abs=1e-9)


def test_partial_information():
    # class 0: paths 0,0,1,1 ; class 1: paths 1,1,1,1 -> joint (1/4, 1/4; 0, 1/2)
    routes = torch.tensor([[0], [0], [1], [1], [1], [1], [1], [1]])
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    stats = route_statistics(routes, labels, [2], ["a", "b"])
    h_path = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    h_joint = -(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5))
    assert stats.route_entropy == pytest.approx(h_path, abs=1e-9)
    assert stats.mutual_information == pytest.approx(h_path + LN2 - h_joint, abs=1e-9)


def test_plot_writes_png(tmp_path):
    routes = torch.tensor([[0, 0, 1], [0, 1, 3], [0, 1, 2]])
    stats = route_statistics(routes, torch.tensor([0, 1, 2]), [1, 2, 4], ["x", "y", "z"])
    out = plot_routes(stats, tmp_path / "routes.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [out]


def _train(config: str, out, extra: list[str] = ()) -> None:
    assert main(["train", "--config", config, "--out", str(out), "--quiet", "--set", "train.epochs=1",
                 "--set", "train.threads=1", "--set", "data.limit_train=96", "--set", "data.limit_test=40",
                 *extra]) == 0


def test_routes_command_on_a_trained_run(tmp_path, capsys):
    run = tmp_path / "run"
    _train("configs/cigt_lenet_fmnist.yaml", run, ["--set", "model.warmup_epochs=0"])
    capsys.readouterr()
    assert main(["routes", str(run), "--json", "--plot", str(tmp_path / "r.png")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 40 and result["path_counts"] == [1, 2, 4]
    assert sum(map(sum, result["path_counts_by_class"])) == 40
    assert [sum(map(sum, layer)) for layer in result["layer_counts"]] == [40, 40, 40]
    assert result["params"] == {"path": 73994, "routers": 9734, "total": 251630}
    assert (tmp_path / "r.png").exists()
    assert main(["routes", str(run), "--split", "val"]) == 0
    assert "I(path; class)" in capsys.readouterr().out


def test_routes_command_rejects_unrouted_model(tmp_path, capsys):
    run = tmp_path / "thin"
    _train("configs/lenet_fmnist_thin.yaml", run)
    assert main(["routes", str(run)]) == 2
    assert "does not route; pass a run of a routed model (a cigt_* model)" in capsys.readouterr().err
