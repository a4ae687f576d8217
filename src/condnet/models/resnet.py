"""CIFAR ResNets (He et al. 2016, depth 6n+2: 20, 32, 56, 110) built from BasicBlocks, as stages.

Stages: the stem (conv3x3 + BN + ReLU), then three stages of n BasicBlocks at widths 16/32/64 with
strides 1/2/2. When a block changes the shape its shortcut is a 1x1 projection (conv + BN) by default,
or the parameter-free zero-padding shortcut ("pad", option A of the paper).
"""

from dataclasses import dataclass

import torch
from torch import nn

from condnet.models.stages import BackboneSpec, StageSpec, conv_bn_relu, scaled
from condnet.options import ModelOptions, option

SHORTCUTS = ("projection", "pad")


@dataclass(frozen=True)
class ResNetOptions(ModelOptions):
    """A CIFAR ResNet's depth, base width and shortcut kind."""

    depth: int = option(20, check=(lambda d: d >= 8 and (d - 2) % 6 == 0, "6n+2 (20, 32, 56, 110, ...)"))
    width: int = option(16, at_least=1, doc="channels of the first stage (the others: 2x and 4x)")
    shortcut: str = option("projection", choices=SHORTCUTS,
                           doc="when a block changes shape: 1x1 conv + BN, or zero padding (option A)")


class PadShortcut(nn.Module):
    """Option-A shortcut: subsample by ``stride`` and zero-pad the new channels."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels, self.stride, self.extra = in_channels, stride, out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and a residual connection."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "projection"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            if shortcut == "projection" or out_channels < in_channels:
                self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                              nn.BatchNorm2d(out_channels))
            else:
                self.shortcut = PadShortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def basic_block_stage(name: str, blocks: int, width: int, stride: int, shortcut: str) -> StageSpec:
    """A stage of ``blocks`` BasicBlocks of ``width`` channels, the first with ``stride``."""
    def build(in_channels: int, scale: float) -> tuple[nn.Module, int]:
        out = scaled(width, scale)
        layers = [BasicBlock(in_channels if i == 0 else out, out, stride if i == 0 else 1, shortcut)
                  for i in range(blocks)]
        return nn.Sequential(*layers), out

    return StageSpec(name, build)


def resnet_spec(depth: int, width: int, shortcut: str, in_channels: int, input_size: int,
                num_classes: int) -> BackboneSpec:
    """A CIFAR ResNet of ``depth`` = 6n+2 with base width ``width``."""
    ResNetOptions(depth, width, shortcut)  # checks them
    n = (depth - 2) // 6

    def stem(in_ch: int, scale: float) -> tuple[nn.Module, int]:
        out = scaled(width, scale)
        return conv_bn_relu(in_ch, out, 3), out

    return BackboneSpec(in_channels, input_size, num_classes, (
        StageSpec("stem", stem),
        basic_block_stage("stage1", n, width, 1, shortcut),
        basic_block_stage("stage2", n, 2 * width, 2, shortcut),
        basic_block_stage("stage3", n, 4 * width, 2, shortcut),
    ))
