"""The model registry from the outside: wildcard listing, families, and one model's options."""

import json

import pytest

from condnet.cli.main import main
from condnet.models import list_models, model_entry, register_model


def test_list_models_takes_shell_style_patterns():
    assert list_models("hnn_resnet*") == ["hnn_resnet20_cifar10", "hnn_resnet20_fmnist",
                                          "hnn_resnet56_cifar100"]
    assert list_models("lenet_fmnist_th??k") == ["lenet_fmnist_thick"]
    assert list_models("cigt_lenet_[fm]*") == ["cigt_lenet_fmnist", "cigt_lenet_mnist"]
    assert list_models("nothing*") == [] and list_models() == sorted(list_models())
    assert {model_entry(n).family for n in list_models("hnn_*")} == {"hnn"}
    assert {model_entry(n).family for n in list_models("cigt_*")} == {"cigt"}
    assert model_entry("resnet20").family == "backbone"


def test_a_family_must_be_known():
    with pytest.raises(ValueError, match="family must be one of backbone, cigt, hnn"):
        register_model("mine", lambda: None, (), "a model", "gan")


def test_models_command_lists_a_pattern_and_shows_options(capsys):
    capsys.readouterr()
    assert main(["models", "cigt_*", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["models"]
    assert sorted(listed) == list_models("cigt_*") and listed["cigt_lenet_fmnist"]["family"] == "cigt"
    assert main(["models", "cigt_lenet_fmnist", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    options = {o["option"]: o for o in shown["options"]}
    assert options["random_ratio"] == {"option": "random_ratio", "default": 0.49, "required": False,
                                       "type": "float", "valid": "in [0, 1]",
                                       "doc": "after warm-up: fraction of each batch routed at random"}
    assert options["path_counts"]["type"] == "list[int]"
    assert options["boundaries"]["type"] == "list[int] | None"
    assert options["random_draw"]["default"] == "per_router"
    assert main(["models", "hnn_lenet_fmnist"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("hnn_lenet_fmnist (hnn): ") and "cue_fraction" in text and "in [0, 1]" in text


def test_models_command_without_a_match_is_one_error(capsys):
    assert main(["models", "xyz*"]) == 2
    assert "no registered model matches 'xyz*'" in capsys.readouterr().err


def test_models_command_shows_an_import_path_factory(capsys):
    capsys.readouterr()
    assert main(["models", "user_models:build_hnn", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    options = {o["option"]: o for o in shown["options"]}
    assert shown["family"] == "hnn" and options["width_rule"]["default"] == "share"
    assert options["classes"]["type"] == "list[int] | None"
