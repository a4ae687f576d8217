"""Attention-aware training: tree levels, cues drawn on the sample's true path at the configured
reliability, gains in range, inhibition, and a training run that uses them."""

import pytest
import torch
from fake_files import tiny_run_overrides, write_idx_dataset

from condnet.config import load_config
from condnet.data.hierarchy import resolve_hierarchy
from condnet.errors import CondnetError
from condnet.models import create_model
from condnet.models.hnn.cues import CueTraining, class_paths, level_nodes, training_gains
from condnet.train import Trainer

FMNIST = resolve_hierarchy("fashion_mnist", 10)


def test_levels_of_the_fashion_mnist_tree():
    assert class_paths(FMNIST)[0] == ["clothing", "tops", "T-shirt/top"]
    assert class_paths(FMNIST)[8] == ["Bag"]
    nodes, table = level_nodes(FMNIST, 1)
    assert nodes == ["clothing", "footwear", "Bag"] and table.tolist() == [0, 0, 0, 0, 0, 1, 0, 1, 2, 1]
    nodes, table = level_nodes(FMNIST, 2)
    assert nodes == ["tops", "Trouser", "Dress", "Sandal", "Sneaker", "Bag", "Ankle boot"]
    assert [nodes[i] for i in table.tolist()] == ["tops", "Trouser", "tops", "Dress", "tops", "Sandal",
                                                   "tops", "Sneaker", "Bag", "Ankle boot"]
    with pytest.raises(CondnetError, match="level must be in 1..3"):
        level_nodes(FMNIST, 4)


def _cued(gains: dict[str, torch.Tensor], n: int) -> list[list[str]]:
    """Per sample, the nodes whose gain is above 1."""
    return [[name for name, g in gains.items() if g[i] > 1] for i in range(n)]


def test_cues_name_a_node_of_the_true_path_at_full_reliability():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(10, (1000,), generator=generator)
    cues = CueTraining(cue_fraction=0.3, cue_reliability=1.0, cue_gain_min=1.5, cue_gain_max=4.0,
                       cue_inhibit=0.0)
    gains = training_gains(FMNIST, cues, labels, generator)
    cued = _cued(gains, len(labels))
    assert sum(1 for c in cued if c) == 300  # exactly round(N * fraction) samples
    paths = class_paths(FMNIST)
    for label, names in zip(labels.tolist(), cued, strict=True):
        assert len(names) <= 1 and all(name in paths[label][:2] for name in names)  # level 1 or 2 of its path
    values = torch.stack(list(gains.values()))
    assert values.min() == 1.0 and 1.5 <= values[values > 1].min() and values.max() <= 4.0


def test_cue_reliability_and_inhibition():
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(10, (20_000,), generator=generator)
    cues = CueTraining(cue_fraction=1.0, cue_reliability=0.8, cue_gain_min=2.0, cue_gain_max=2.0,
                       cue_inhibit=1.0)
    gains = training_gains(FMNIST, cues, labels, generator)
    paths = class_paths(FMNIST)
    cued = _cued(gains, len(labels))
    right = sum(names[0] in paths[label] for label, names in zip(labels.tolist(), cued, strict=True))
    assert abs(right / len(labels) - 0.8) < 0.015  # binomial sd 0.003
    # every other node of the cued level is inhibited with the inverse gain
    for i in range(50):
        level = 1 if cued[i][0] in level_nodes(FMNIST, 1)[0] and cued[i][0] != "Bag" else None
        if level == 1:
            others = [n for n in level_nodes(FMNIST, 1)[0] if n != cued[i][0]]
            assert all(float(gains[n][i]) == 0.5 for n in others)


def test_cue_settings_are_checked():
    with pytest.raises(CondnetError, match="cue_fraction must be in"):
        CueTraining(cue_fraction=1.5)
    with pytest.raises(CondnetError, match="cue_gain_min must be <= cue_gain_max"):
        CueTraining(cue_gain_min=3.0, cue_gain_max=2.0)
    with pytest.raises(CondnetError, match="cue_reliability"):
        create_model("hnn_lenet_fmnist", cue_reliability=-0.1)


def test_training_forwards_take_cues_and_eval_forwards_do_not():
    model = create_model("hnn_lenet_fmnist", cue_fraction=0.5).train()
    labels = torch.arange(10).repeat(2)
    kwargs = model.training_kwargs(labels)
    assert set(kwargs) == {"gains"} and sum(1 for c in _cued(kwargs["gains"], 20) if c) == 10
    assert model.eval().training_kwargs(labels) == {}
    assert create_model("hnn_lenet_fmnist").train().training_kwargs(labels) == {}


def test_attention_aware_training_runs_and_reloads(tmp_path):
    root = write_idx_dataset(tmp_path / "data")
    overrides = tiny_run_overrides(root) + ["model.cue_fraction=0.5", "model.cue_inhibit=1.0"]
    cfg = load_config("configs/hnn_lenet_fmnist.yaml", overrides)
    seen = []
    trainer = Trainer(cfg, tmp_path / "run", verbose=False)
    original = trainer.model.training_kwargs
    trainer.model.training_kwargs = lambda targets: seen.append(len(targets)) or original(targets)
    summary = trainer.fit()
    assert seen and summary["test_accuracy"] is not None
    assert cfg.model["cue_fraction"] == 0.5
