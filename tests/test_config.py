"""Run configs: validation errors name the key and the valid choices; every shipped YAML resolves."""

from pathlib import Path

import pytest

from condnet.config import apply_overrides, load_config, parse_config
from condnet.errors import CondnetError
from condnet.train import resolve_run_config

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
BASE = {"model": {"name": "lenet_fmnist_thin"}}


def _parse(**sections) -> object:
    return parse_config({**BASE, **sections})


def test_defaults_and_types():
    cfg = _parse(train={"lr": 1, "milestones": [3, 5]}, data={"root": None})
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float) and cfg.train.milestones == [3, 5]
    assert cfg.data.val_size == 5000 and cfg.train.optimizer == "sgd"


def test_unknown_section():
    with pytest.raises(CondnetError,
                       match="unknown config section 'optim'; valid sections: model, data, train"):
        _parse(optim={})


def test_unknown_key_lists_valid_keys():
    with pytest.raises(CondnetError) as err:
        _parse(train={"learning_rate": 0.1})
    assert "unknown key train.learning_rate" in str(err.value)
    assert "valid keys in train: epochs, optimizer, lr," in str(err.value)


@pytest.mark.parametrize("section, key, value, needle", [
    ("train", "epochs", "ten", "train.epochs must be of type int, got 'ten'"),
    ("train", "epochs", 2.5, "train.epochs must be of type int"),
    ("train", "nesterov", 1, "train.nesterov must be of type bool, got 1"),
    ("train", "lr", "fast", "train.lr must be of type float"),
    ("train", "lr", True, "train.lr must be of type float"),
    ("train", "milestones", 5, "train.milestones must be a list, got 5"),
    ("train", "milestones", [1, "x"], "train.milestones must be of type int, got 'x'"),
    ("data", "batch_size", True, "data.batch_size must be of type int, got True"),
    ("data", "root", 3, "data.root must be of type str, got 3"),
])
def test_wrong_types(section, key, value, needle):
    with pytest.raises(CondnetError, match=needle.replace(".", r"\.").replace("(", r"\(")):
        _parse(**{section: {key: value}})


@pytest.mark.parametrize("section, key, value, choices", [
    ("train", "optimizer", "adam", "sgd, adamw"),
    ("train", "schedule", "linear", "constant, step, multistep, cosine"),
    ("train", "device", "tpu", "auto, cpu, cuda, cuda:N or mps"),
    ("data", "dataset", "svhn", "fashion_mnist, mnist, cifar10, cifar100, folder, arrays"),
])
def test_bad_choice_names_key_and_choices(section, key, value, choices):
    with pytest.raises(CondnetError) as err:
        _parse(**{section: {key: value}})
    assert f"{section}.{key} must be one of {choices}, got {value!r}" in str(err.value)


@pytest.mark.parametrize("section, key, value", [
    ("train", "epochs", 0), ("train", "lr", 0.0), ("train", "step_size", 0), ("data", "batch_size", 0),
    ("data", "eval_batch_size", -1), ("data", "val_size", -5), ("train", "label_smoothing", 1.5),
    ("train", "warmup_epochs", -1.0), ("data", "limit_train", 0),
])
def test_out_of_range_values(section, key, value):
    with pytest.raises(CondnetError, match=rf"{section}\.{key} must be"):
        _parse(**{section: {key: value}})


def test_model_section_needs_name():
    with pytest.raises(CondnetError, match="config needs model.name"):
        parse_config({"model": {"dropout": 0.1}})
    with pytest.raises(CondnetError, match="must be a YAML mapping"):
        parse_config([1, 2])


def test_unknown_model_option_names_valid_options():
    cfg = _parse(model={"name": "lenet_fmnist_thin", "width": 2})
    with pytest.raises(CondnetError, match="model 'lenet_fmnist_thin' has no option 'width'; valid options: "
                                           "dropout, in_channels, "):
        resolve_run_config(cfg)


def test_set_overrides_parse_yaml_values():
    raw = apply_overrides(BASE, ["train.lr=0.2", "train.milestones=[2, 4]", "data.augment=true",
                                 "data.root=null", "model.dropout=0.1"])
    cfg = parse_config(raw)
    assert cfg.train.lr == 0.2 and cfg.train.milestones == [2, 4] and cfg.data.augment is True
    assert cfg.data.root is None and cfg.model["dropout"] == 0.1
    assert BASE == {"model": {"name": "lenet_fmnist_thin"}}  # the input mapping is not modified


def test_set_into_empty_yaml_section(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  name: lenet_fmnist_thin\ndata:\ntrain:\n")
    assert load_config(path, ["train.epochs=3"]).train.epochs == 3


@pytest.mark.parametrize("item, needle", [
    ("train.lr", "--set expects section.key=value"),
    ("lr=0.1", "--set expects section.key=value"),
    ("train.=1", "--set expects section.key=value"),
    ("train.milestones=[1,", "the value is not valid YAML"),
])
def test_set_syntax_errors(item, needle):
    with pytest.raises(CondnetError, match=needle):
        apply_overrides(BASE, [item])


def test_set_unknown_key_is_reported():
    with pytest.raises(CondnetError, match="unknown key data.batchsize"):
        parse_config(apply_overrides(BASE, ["data.batchsize=3"]))


def test_yaml_file_errors(tmp_path):
    with pytest.raises(CondnetError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("model: [unclosed\n")
    with pytest.raises(CondnetError, match="is not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(CondnetError, match="must hold a YAML mapping"):
        load_config(tmp_path / "list.yaml")


def test_every_baseline_has_a_config():
    names = {p.stem for p in CONFIGS}
    assert {"lenet_fmnist_thick", "lenet_fmnist_thin", "lenet_mnist_thick", "lenet_mnist_thin",
            "resnet20_cifar10", "resnet32_cifar10", "resnet56_cifar10", "resnet110_cifar10",
            "resnet20_fmnist", "vgg11_cifar10", "vgg16_cifar10", "mobilenetv2_cifar10"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_parse_and_resolve(path):
    if path.stem == "hnn_lenet_mnist":  # its tree is derived by `condnet hierarchy` first (see the config)
        with pytest.raises(CondnetError,
                           match="hierarchy file runs/lenet_mnist_thick/hierarchy.yaml not found"):
            resolve_run_config(load_config(path))
        return
    cfg = resolve_run_config(load_config(path))
    assert cfg.model["name"] and cfg.train.epochs >= 1
    again = resolve_run_config(parse_config(cfg.to_dict()))  # the resolved form is itself a valid config
    assert again.to_dict() == cfg.to_dict()
