"""Models from the user's code: HNN and CIGT from hand-written stages, and import-path model names that
every command resolves in a new process, without ever importing code named only by a checkpoint."""

import json
import os
import subprocess
import sys

import pytest
import torch
from fake_files import tiny_run_overrides
from user_models import STAGES

from condnet.errors import CheckpointError, ConfigError
from condnet.models import create_model, model_entry
from condnet.models.user_stages import cigt_from_stages, hnn_from_stages
from condnet.train.loading import load_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_hnn_from_user_stages_cuts_out_exactly():
    model = hnn_from_stages(STAGES, "fashion_mnist", 1, 28, 10).eval()
    x = torch.randn(4, 1, 28, 28)
    expert = model.cutout(["footwear"]).eval()
    with torch.no_grad():
        assert torch.equal(expert(x), model(x)[:, expert.output_classes])
    assert [s["stages"] for s in model.describe()][0] == ["conv_stage"]


def test_cigt_from_user_stages_routes_one_block_per_layer():
    model = cigt_from_stages(STAGES, [1, 3], [1, 2, 2], 1, 28, 10).eval()
    logits, routes = model(torch.randn(5, 1, 28, 28), return_routes=True)
    assert logits.shape == (5, 10) and routes.shape == (5, 3) and routes[:, 1:].max() <= 1
    with pytest.raises(ConfigError, match="has 3 layers, so model.boundaries needs 2 stage indices"):
        cigt_from_stages(STAGES, [1], [1, 2, 2], 1, 28, 10)


def test_import_path_names_resolve_with_their_family():
    assert model_entry("user_models:build_hnn").family == "hnn"
    assert model_entry("user_models:build_cigt").family == "cigt"
    assert create_model("user_models:build_cigt").condnet_config["name"] == "user_models:build_cigt"
    with pytest.raises(ConfigError, match="cannot import 'no_such_package.nets'"):
        model_entry("no_such_package.nets:build")
    with pytest.raises(ConfigError, match="has no callable 'missing'"):
        model_entry("user_models:missing")


def _condnet(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.path.join(REPO, "tests")}
    return subprocess.run([sys.executable, "-m", "condnet.cli.main", *argv], capture_output=True, text=True,
                          cwd=REPO, env=env, check=False)


def test_an_import_path_run_works_in_new_processes(tmp_path):
    run, config = tmp_path / "run", tmp_path / "mine.yaml"
    config.write_text("model:\n  name: user_models:build_hnn\ndata:\n  dataset: fashion_mnist\n"
                      "train:\n  epochs: 1\n")
    sets = [a for o in tiny_run_overrides() for a in ("--set", o)]
    trained = _condnet("train", "--config", str(config), *sets, "--out", str(run), "--quiet")
    assert trained.returncode == 0, trained.stderr
    evaluated = _condnet("eval", str(run), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] == 16
    cut = _condnet("cutout", str(run), "--classes", "footwear", "--out", str(tmp_path / "footwear.pt"),
                   "--json")
    assert cut.returncode == 0, cut.stderr
    with pytest.raises(CheckpointError, match="imports code only from a config you pass or a run directory"):
        load_run(run / "checkpoints" / "best.pt")  # the checkpoint alone never names code to import
    refused = _condnet("eval", str(run / "checkpoints" / "best.pt"))
    assert refused.returncode == 2 and "holds a model from user code" in refused.stderr
