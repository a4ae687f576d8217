"""Optimiser and learning-rate scheduler from a :class:`TrainConfig`."""

import torch
from torch import nn

from condnet.config import TrainConfig
from condnet.errors import CondnetError
from condnet.train.schedule import lr_factor_fn


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weights of convolutions and linear layers only, not on biases and norms."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups = _param_groups(model, cfg.weight_decay)
    if cfg.nesterov and cfg.momentum <= 0:
        raise CondnetError("train.nesterov needs train.momentum > 0")
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    raise CondnetError(f"train.optimizer must be sgd or adamw, got {cfg.optimizer!r}")


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-iteration scheduler (call ``step()`` after every optimiser step)."""
    if cfg.schedule == "multistep" and cfg.factors and len(cfg.factors) != len(cfg.milestones):
        raise CondnetError("train.factors needs one factor per entry of train.milestones")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor_fn(cfg, steps_per_epoch))
