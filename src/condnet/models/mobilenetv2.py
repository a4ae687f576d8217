"""MobileNetV2 (Sandler et al. 2018) for small images: stride 1 in the stem and the first two groups.

Stages: the stem, then one stage per (expansion, channels, repeats, stride) group; the last stage ends
with the 1x1 convolution to 1280 channels. ``width_mult`` scales every width.
"""

from dataclasses import dataclass

import torch
from torch import nn

from condnet.models.stages import BackboneSpec, StageSpec, conv_bn_relu, scaled
from condnet.options import ModelOptions, option

# (expansion, channels, repeats, stride); strides of the first groups are 1 for 32x32 inputs.
CIFAR_GROUPS = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))
LAST_CHANNELS = 1280


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise 3x3, project (1x1); residual when the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [conv_bn_relu(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
                   nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


def _group_stage(index: int, expansion: int, width: int, repeats: int, stride: int, last: bool,
                 width_mult: float) -> StageSpec:
    def build(in_channels: int, scale: float) -> tuple[nn.Module, int]:
        out = scaled(width, scale * width_mult)
        layers: list[nn.Module] = []
        for i in range(repeats):
            layers.append(InvertedResidual(in_channels, out, stride if i == 0 else 1, expansion))
            in_channels = out
        if last:
            final = scaled(LAST_CHANNELS, scale * max(1.0, width_mult))
            layers.append(conv_bn_relu(in_channels, final, 1, activation=nn.ReLU6))
            out = final
        return nn.Sequential(*layers), out

    return StageSpec(f"group{index + 1}", build)


@dataclass(frozen=True)
class MobileNetV2Options(ModelOptions):
    """MobileNetV2's width multiplier."""

    width_mult: float = option(1.0, above=0, doc="scales every width")


def mobilenetv2_spec(width_mult: float, in_channels: int, input_size: int, num_classes: int) -> BackboneSpec:
    """MobileNetV2 for 32x32 (CIFAR) inputs."""
    def stem(in_ch: int, scale: float) -> tuple[nn.Module, int]:
        out = scaled(32, scale * width_mult)
        return conv_bn_relu(in_ch, out, 3, activation=nn.ReLU6), out

    groups = [_group_stage(i, t, c, n, s, i == len(CIFAR_GROUPS) - 1, width_mult)
              for i, (t, c, n, s) in enumerate(CIFAR_GROUPS)]
    return BackboneSpec(in_channels, input_size, num_classes, (StageSpec("stem", stem), *groups))
