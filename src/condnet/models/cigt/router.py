"""CIGT routers and the temperature schedule of their soft decisions."""

import math

import torch
from torch import nn


class Router(nn.Module):
    """pool -> flatten -> Linear(d, hidden) -> BatchNorm1d -> Linear(hidden, routes): the routing logits.

    Feature maps are average-pooled to ``pool`` x ``pool`` first (1: global average pooling); flat
    features are used as they are.
    """

    def __init__(self, features: int, routes: int, hidden: int = 128, pool: int = 1) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(pool)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(features, hidden), nn.BatchNorm1d(hidden),
                                 nn.Linear(hidden, routes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.pool(x) if x.dim() == 4 else x)


def router_input_features(shape: torch.Size, pool: int) -> int:
    """The input width of a :class:`Router` reading block outputs of ``shape`` (without the batch)."""
    if len(shape) == 3:
        return shape[0] * pool * pool
    return math.prod(shape)


def temperature(step: int, initial: float, decay: float, minimum: float) -> float:
    """T_t = max(T0 * gamma^t, T_min) at training iteration ``step``."""
    return max(initial * decay ** step, minimum)
