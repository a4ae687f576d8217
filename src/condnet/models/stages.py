"""Backbones as explicit lists of stages.

A :class:`BackboneSpec` describes a network as stages that can be rebuilt at another width
(``build(in_channels, scale) -> (module, out_channels)``), so that the hierarchical and trellis
builders can split a backbone and narrow its parts. :class:`StageNet` is the plain network.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from condnet.options import ModelOptions, option

StageBuilder = Callable[[int, float], tuple[nn.Module, int]]


def scaled(width: int, scale: float, floor: int = 1) -> int:
    """``width * scale`` rounded, at least ``floor``."""
    return max(floor, int(round(width * scale)))


@dataclass(frozen=True)
class InputOptions(ModelOptions):
    """The options every image classifier takes: its input shape and class count (a run fills them from
    its dataset)."""

    in_channels: int = option(3, at_least=1)
    input_size: int = option(32, at_least=1, doc="input images are input_size x input_size")
    num_classes: int = option(10, at_least=2)


GRAY_28 = {"in_channels": 1, "input_size": 28}  # MNIST and Fashion-MNIST images


@dataclass(frozen=True)
class StageSpec:
    """One stage: a name, and a builder taking (in_channels, width scale) to (module, out_channels)."""

    name: str
    build: StageBuilder


@dataclass(frozen=True)
class BackboneSpec:
    """A backbone: input shape, stages in order, and the classifier head's input form."""

    in_channels: int
    input_size: int
    num_classes: int
    stages: tuple[StageSpec, ...]
    pool_before_head: bool = True


class Classifier(nn.Module):
    """Global average pooling (for feature maps) and a linear layer."""

    def __init__(self, in_features: int, num_classes: int, pool: bool = True) -> None:
        super().__init__()
        self.pool = pool
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool:
            x = x.mean(dim=(2, 3))
        return self.fc(x)


class StageNet(nn.Module):
    """The plain network of a :class:`BackboneSpec`: its stages in sequence, then the classifier."""

    def __init__(self, spec: BackboneSpec, scale: float = 1.0) -> None:
        super().__init__()
        self.spec = spec
        stages, channels = [], spec.in_channels
        for stage in spec.stages:
            module, channels = stage.build(channels, scale)
            stages.append(module)
        self.stages = nn.ModuleList(stages)
        self.head = Classifier(channels, spec.num_classes, spec.pool_before_head)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                 groups: int = 1, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Convolution ('same' padding for odd kernels), BatchNorm and an activation."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        activation(inplace=True),
    )
