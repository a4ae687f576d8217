"""The hierarchical network: layout, exact cutout for every registered HNN, gains, expert save/load."""

import math

import pytest
import torch
from fake_files import tiny_run_overrides, write_cifar
from model_options import build_registered

from condnet.config import load_config
from condnet.cost import count_macs, count_params
from condnet.errors import CondnetError
from condnet.models import create_model, list_models
from condnet.models.hnn import HNN
from condnet.models.hnn.plan import level_stages, node_scale
from condnet.train import Trainer, save_checkpoint
from condnet.train.loading import load_run

HNN_MODELS = [name for name in list_models() if name.startswith("hnn_")]


def example(model, n=3, seed=0):
    spec = model.spec
    return torch.randn(n, spec.in_channels, spec.input_size, spec.input_size,
                       generator=torch.Generator().manual_seed(seed))


def test_registered_models():
    assert set(HNN_MODELS) >= {"hnn_lenet_fmnist", "hnn_resnet20_fmnist", "hnn_resnet20_cifar10",
                               "hnn_resnet56_cifar100", "hnn_vgg11_cifar10", "hnn_mobilenetv2_cifar10"}


@pytest.mark.parametrize("name", HNN_MODELS)
def test_expert_logits_equal_full_model(name):
    torch.manual_seed(0)
    full = build_registered(name).eval()
    x = example(full)
    with torch.no_grad():
        logits = full(x)
    classes = full.spec.num_classes
    assert logits.shape == (3, classes)
    generator = torch.Generator().manual_seed(hash(name) % 1000)
    for size in (1, 2, classes // 2):
        kept = sorted(torch.randperm(classes, generator=generator)[:size].tolist())
        expert = full.cutout(kept).eval()
        assert expert.classes == kept and expert.class_names == [full.hierarchy.class_names[c] for c in kept]
        with torch.no_grad():
            assert torch.equal(expert(x), logits[:, kept])
        assert count_params(expert) < count_params(full)
        assert not set(expert.state_dict()) - set(full.state_dict())


def test_lenet_bag_expert_macs_by_hand():
    expert = create_model("hnn_lenet_fmnist").cutout(["Bag"]).eval()
    # trunk conv5x5 1->32 at 28x28; Bag (10% of the classes) owns every later stage at 10% width:
    # conv5x5 32->6 at 14x14, conv1x1 6->13 at 7x7, FC 13*3*3->51->26, head 26->1
    by_hand = 28 * 28 * 32 * 25 + 14 * 14 * 6 * 32 * 25 + 7 * 7 * 13 * 6 + 117 * 51 + 51 * 26 + 26
    assert count_macs(expert, example(expert)) == by_hand
    assert expert.classes == [8] and expert.class_names == ["Bag"]


def test_cutout_of_group_and_of_expert():
    full = create_model("hnn_lenet_fmnist").eval()
    footwear = full.cutout(["footwear"])
    assert footwear.classes == [5, 7, 9]
    x = example(full)
    with torch.no_grad():
        assert torch.equal(footwear.cutout(["Sneaker"])(x), full(x)[:, [7]])
    with pytest.raises(CondnetError, match="has no class 'Bag'"):
        footwear.cutout(["Bag"])
    with pytest.raises(CondnetError, match="unknown class or group"):
        full.cutout(["boots"])


def test_plan_stages_and_widths():
    assert level_stages(4, 1, 3) == [(1,), (2,), (3,)]
    assert level_stages(8, 2, 3) == [(2, 3), (4, 5), (6, 7)]
    assert level_stages(3, 1, 3) == [(1,), (2,), ()]
    with pytest.raises(CondnetError, match="split must be in 0..3"):
        level_stages(4, 4, 3)
    assert node_scale(0.1, "share", 0.0625) == 0.1
    assert node_scale(0.01, "share", 0.0625) == 0.0625
    assert node_scale(0.25, "sqrt_share", 0.0625) == 0.5
    with pytest.raises(CondnetError, match="width_rule must be one of"):
        node_scale(0.1, "wide", 0.1)
    rows = create_model("hnn_lenet_fmnist").describe()
    assert {"node": "tops", "level": 2, "stages": ["conv1x1_128"], "scale": 0.4} in rows


def test_every_class_path_runs_all_stages():
    model = create_model("hnn_resnet20_fmnist")
    bag = [s for s in model.segments if s.node == "Bag"]
    assert [s.stages for s in bag] == [(1,), (2,), (3,)] and [s.last for s in bag] == [False, False, True]


def test_evidence_gains_shift_logits_of_the_node_classes():
    model = create_model("hnn_lenet_fmnist", attention="evidence").eval()
    x = example(model)
    with torch.no_grad():
        base = model(x)
        assert torch.equal(model(x, gains={"footwear": 1.0}), base)
        shifted = model(x, gains={"footwear": 2.0, "Bag": torch.tensor([1.0, 0.5, 4.0])})
    expected = base.clone()
    expected[:, [5, 7, 9]] += math.log(2.0)
    expected[:, 8] += torch.log(torch.tensor([1.0, 0.5, 4.0]))
    assert torch.allclose(shifted, expected)
    with torch.no_grad():
        assert torch.isneginf(model(x, gains={"tops": 0.0})[:, [0, 2, 4, 6]]).all()
    signal = {"footwear": 2.0, "Bag": torch.tensor([1.0, 0.5, 4.0])}
    assert torch.equal(model.add_evidence(base, signal), shifted)  # the sweep's shortcut: no second forward
    with pytest.raises(CondnetError, match="must be finite and >= 0"):
        model.add_evidence(base, {"Bag": -1.0})


def test_head_gains_scale_the_high_level_features_of_the_node_classes():
    """Default attention: a node's gain multiplies the pooled features of its classes before their heads,
    so each logit becomes gain * (w . f) + b; gains on nested nodes multiply."""
    model = create_model("hnn_lenet_fmnist").eval()
    assert model.attention == "head"
    x = example(model)
    bias = torch.cat([model.heads[f"c{c}"].bias for c in range(10)])
    with torch.no_grad():
        base = model(x)
        per_sample = torch.tensor([1.0, 0.5, 4.0])
        scaled = model(x, gains={"footwear": 2.0, "Sandal": per_sample, "tops": 0.0})
    expected = base.clone()
    expected[:, [5, 7, 9]] = 2 * (base[:, [5, 7, 9]] - bias[[5, 7, 9]]) + bias[[5, 7, 9]]
    expected[:, 5] = 2 * per_sample * (base[:, 5] - bias[5]) + bias[5]
    expected[:, [0, 2, 4, 6]] = bias[[0, 2, 4, 6]]  # gain 0: only the bias is left
    assert torch.allclose(scaled, expected, atol=1e-6)


def test_node_gains_scale_features():
    model = create_model("hnn_lenet_fmnist", attention="features").eval()  # the former name of "node"
    assert model.attention == "node"
    x = example(model)
    head = model.heads["c8"]
    with torch.no_grad():
        base = model(x)
        scaled = model(x, gains={"Bag": 3.0})
        # the Bag leaf's features reach only its head: logit = 3 * (w . f) + b
        assert torch.allclose(scaled[:, 8], 3 * (base[:, 8] - head.bias) + head.bias, atol=1e-5)
        assert torch.equal(scaled[:, :8], base[:, :8])
        changed = model(x, gains={"footwear": 0.5})
    assert not torch.equal(changed[:, [5, 7, 9]], base[:, [5, 7, 9]])
    assert torch.equal(changed[:, :5], base[:, :5])


@pytest.mark.parametrize("gains, message", [
    ({"shoes": 1.0}, "no node 'shoes'"),
    ({"footwear": -1.0}, "must be finite and >= 0"),
    ({"footwear": float("nan")}, "must be finite and >= 0"),
    ({"footwear": float("inf")}, "must be finite and >= 0"),
    ({"footwear": torch.tensor([1.0, 2.0])}, "one value per sample"),
])
def test_gain_errors(gains, message):
    model = create_model("hnn_lenet_fmnist").eval()
    with pytest.raises(CondnetError, match=message):
        model(example(model), gains=gains)


def test_gain_on_a_node_cut_away_is_an_error():
    expert = create_model("hnn_lenet_fmnist").cutout(["footwear"]).eval()
    with pytest.raises(CondnetError, match="no node 'tops'"):
        expert(example(expert), gains={"tops": 2.0})


def test_expert_saves_and_loads_as_config_plus_tensors(tmp_path):
    full = create_model("hnn_resnet20_fmnist").eval()
    expert = full.cutout(["Trouser", "tops"]).eval()
    config = {"model": expert.condnet_config, "data": {"dataset": "fashion_mnist"}, "train": {}}
    assert expert.condnet_config["classes"] == [0, 1, 2, 4, 6]
    save_checkpoint(tmp_path / "expert.pt", config, expert.state_dict())
    loaded = load_run(tmp_path / "expert.pt").model
    x = example(full)
    with torch.no_grad():
        assert torch.equal(loaded(x), full(x)[:, [0, 1, 2, 4, 6]])
    assert count_params(loaded) == count_params(expert)


def test_hierarchy_must_fit_the_classes():
    with pytest.raises(CondnetError, match="has 10 classes but the model has 100"):
        create_model("hnn_resnet20_cifar10", num_classes=100)


def test_evaluation_cues_come_from_the_level_nodes_of_the_labels():
    from condnet.analysis.attention import cue_gains, draw_cues
    from condnet.models.hnn.cues import level_nodes

    model = create_model("hnn_lenet_fmnist")
    nodes, table = level_nodes(model.hierarchy, 1)
    labels = torch.tensor([0, 3, 5, 9, 8])  # T-shirt, Dress -> clothing; Sandal, Ankle boot -> footwear; Bag
    truth = table[labels]
    assert truth.tolist() == [0, 0, 1, 1, 2]
    assert torch.equal(draw_cues(truth, 3, 1.0, seed=0), truth)
    wrong = draw_cues(truth, 3, 0.0, seed=0)
    assert (wrong != truth).all() and ((wrong >= 0) & (wrong < 3)).all()  # always another node
    cue = cue_gains(nodes, "group-cue", truth, 3.0)
    assert cue["clothing"].tolist() == [3, 3, 1, 1, 1] and cue["Bag"].tolist() == [1, 1, 1, 1, 3]
    inhibit = cue_gains(nodes, "inhibit-distractors", truth, 0.5)
    assert inhibit["Bag"].tolist() == [0.5, 0.5, 0.5, 0.5, 1]
    assert inhibit["clothing"].tolist() == [1, 1, 0.5, 0.5, 0.5]


@pytest.mark.parametrize("config, classes", [
    ("configs/hnn_resnet20_cifar10.yaml", 10),
    ("configs/hnn_resnet56_cifar100.yaml", 100),
    ("configs/hnn_vgg11_cifar10.yaml", 10),
    ("configs/hnn_mobilenetv2_cifar10.yaml", 10),
])
def test_cifar_configs_train_and_reload(config, classes, tmp_path):
    """Every CIFAR HNN config trains one tiny epoch on CIFAR-format files and reloads with its width rule."""
    cfg = load_config(config, tiny_run_overrides(write_cifar(tmp_path / "data", classes=classes)))
    summary = Trainer(cfg, tmp_path / "run", verbose=False).fit()
    loaded = load_run(tmp_path / "run")
    assert isinstance(loaded.model, HNN) and loaded.model.options.width_rule == cfg.model["width_rule"]
    assert summary["params"] == count_params(loaded.model) == count_params(create_model(**cfg.model))
    assert summary["macs_per_sample"] == count_macs(loaded.model.eval(), example(loaded.model, n=1))
