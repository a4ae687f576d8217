"""Learning-rate schedules and optimisers: factors per iteration checked against values worked out by hand."""

import math

import pytest
import torch
from torch import nn

from condnet.config import TrainConfig
from condnet.errors import CondnetError
from condnet.train.optim import build_optimizer, build_scheduler
from condnet.train.schedule import lr_factor_fn


def _factors(steps_per_epoch: int, steps: list[int], **cfg) -> list[float]:
    factor = lr_factor_fn(TrainConfig(**cfg), steps_per_epoch)
    return [factor(s) for s in steps]


def test_constant():
    assert _factors(10, [0, 55, 99], schedule="constant", epochs=10) == [1.0, 1.0, 1.0]


def test_step():
    # gamma 0.5 every 2 epochs, 10 steps per epoch: steps 0-19 -> 1, 20-39 -> 0.5, 40.. -> 0.25
    assert _factors(10, [0, 19, 20, 39, 40], schedule="step", step_size=2, gamma=0.5, epochs=6) == \
        [1.0, 1.0, 0.5, 0.5, 0.25]


def test_multistep_gamma_and_factors():
    assert _factors(4, [0, 7, 8, 19, 20], schedule="multistep", milestones=[2, 5], gamma=0.1, epochs=8) == \
        pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    # paper B's Fashion-MNIST steps: x0.5 @60, x0.25 @95, x0.025 @120 (absolute factors)
    assert _factors(1, [59, 60, 94, 95, 119, 120], schedule="multistep", milestones=[60, 95, 120],
                    factors=[0.5, 0.25, 0.025], epochs=150) == [1.0, 0.5, 0.5, 0.25, 0.25, 0.025]


def test_cosine():
    # 4 epochs x 5 steps = 20 steps; factor = (1 + cos(pi * step / 20)) / 2
    assert _factors(5, [0, 10, 15], schedule="cosine", epochs=4) == \
        pytest.approx([1.0, 0.5, (1 + math.cos(math.pi * 0.75)) / 2])


def test_linear_warmup_then_cosine():
    # warm-up 1 epoch = 4 steps: factors (s + 1) / 4; cosine then runs over the remaining 12 steps
    values = _factors(4, [0, 1, 2, 3, 4, 10], schedule="cosine", epochs=4, warmup_epochs=1.0)
    assert values == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.5])


def test_warmup_multiplies_step_schedule():
    assert _factors(2, [0, 1, 2], schedule="step", step_size=1, gamma=0.1, epochs=3, warmup_epochs=1.5) == \
        pytest.approx([1 / 3, 2 / 3, 0.1])


def test_scheduler_drives_optimizer_lr():
    model = nn.Linear(2, 1)
    cfg = TrainConfig(lr=0.2, schedule="multistep", milestones=[1], gamma=0.5, epochs=2)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch=3)
    lrs = []
    for _ in range(6):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([0.2, 0.2, 0.2, 0.1, 0.1, 0.1])


def test_weight_decay_only_on_weights():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    groups = build_optimizer(model, TrainConfig(weight_decay=0.1)).param_groups
    assert [sum(p.numel() for p in g["params"]) for g in groups] == [12, 4 + 8]
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]


def test_optimizer_kinds():
    model = nn.Linear(2, 2)
    sgd = build_optimizer(model, TrainConfig(nesterov=True, momentum=0.8))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.8
    assert isinstance(build_optimizer(model, TrainConfig(optimizer="adamw")), torch.optim.AdamW)


def test_nesterov_without_momentum_is_a_user_error():
    with pytest.raises(CondnetError, match="nesterov needs train.momentum > 0"):
        build_optimizer(nn.Linear(1, 1), TrainConfig(nesterov=True, momentum=0.0))


def test_factors_must_match_milestones():
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(CondnetError, match="one factor per entry"):
        build_scheduler(optimizer, TrainConfig(schedule="multistep", milestones=[1, 2], factors=[0.1]), 10)
