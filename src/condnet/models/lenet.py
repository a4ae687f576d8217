"""The LeNet-style nets of paper B (CIGT) for MNIST and Fashion-MNIST, as stages.

Fashion-MNIST ("Fashion Net"): conv5x5 -> conv5x5 -> conv1x1, each with BatchNorm, ReLU and
max-pooling (28 -> 14 -> 7 -> 3), then two fully connected layers with BatchNorm1d, ReLU and dropout.
The BatchNorm1d after the FC layers is what makes the parameter counts equal paper B's (thin 74.0 K,
thick 786.6 K). MNIST: conv5x5 -> conv5x5 with ReLU and max-pooling, then one FC layer; no BatchNorm.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from condnet.errors import ConfigError
from condnet.models.stages import BackboneSpec, StageSpec, scaled
from condnet.options import ModelOptions, option


def _conv_stage(kernel: int, width: int, batch_norm: bool, pool_ceil: bool = False) -> StageSpec:
    def build(in_channels: int, scale: float) -> tuple[nn.Module, int]:
        out = scaled(width, scale)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out, kernel, padding=kernel // 2)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=pool_ceil)]
        return nn.Sequential(*layers), out

    return StageSpec(f"conv{kernel}x{kernel}_{width}", build)


def _fc_stage(spatial: int, widths: Sequence[int], batch_norm: bool, dropout: float) -> StageSpec:
    def build(in_channels: int, scale: float) -> tuple[nn.Module, int]:
        layers: list[nn.Module] = [nn.Flatten()]
        features = in_channels * spatial * spatial
        for width in widths:
            out = scaled(width, scale)
            layers.append(nn.Linear(features, out))
            if batch_norm:
                layers.append(nn.BatchNorm1d(out))
            layers.append(nn.ReLU(inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            features = out
        return nn.Sequential(*layers), features

    return StageSpec("fc_" + "_".join(map(str, widths)), build)


@dataclass(frozen=True)
class DropoutOptions(ModelOptions):
    """Dropout before each fully connected layer."""

    dropout: float = option(0.0, at_least=0, below=1)


@dataclass(frozen=True)
class LeNetOptions(DropoutOptions):
    """The widths of a LeNet's convolutions and fully connected layers (defaults: paper B's Fashion Net,
    thick baseline = the union of the [1,2,4] paths)."""

    conv: list[int] = option([32, 64, 128], at_least=1, doc="output channels of each convolution")
    fc: list[int] = option([512, 256], at_least=1, doc="width of each hidden fully connected layer")


MNIST_THICK = {"conv": [20, 30], "fc": [100]}  # paper B's MNIST LeNet, thick baseline
FMNIST_THIN = {"conv": [32, 32, 32], "fc": [128, 64]}  # one path of paper B's [1,2,4] Fashion Net trellis
MNIST_THIN = {"conv": [20, 15], "fc": [25]}  # one path of paper B's MNIST trellis


def _widths(conv: Sequence[int], count: int, net: str) -> Sequence[int]:
    if len(conv) != count:
        raise ConfigError(f"model.conv of the {net} needs {count} widths, one per convolution; "
                          f"got {list(conv)}")
    return conv


def lenet_fmnist_spec(conv: Sequence[int], fc: Sequence[int], dropout: float, in_channels: int,
                      input_size: int, num_classes: int) -> BackboneSpec:
    """Paper B's Fashion Net: three convolutions (5x5, 5x5, 1x1) and fully connected layers ``fc``."""
    c0, c1, c2 = _widths(conv, 3, "Fashion Net")
    spatial = input_size // 8
    return BackboneSpec(in_channels, input_size, num_classes, (
        _conv_stage(5, c0, True), _conv_stage(5, c1, True), _conv_stage(1, c2, True),
        _fc_stage(spatial, fc, True, dropout)), pool_before_head=False)


def lenet_mnist_spec(conv: Sequence[int], fc: Sequence[int], dropout: float, in_channels: int,
                     input_size: int, num_classes: int) -> BackboneSpec:
    """Paper B's MNIST LeNet: two 5x5 convolutions without BatchNorm and fully connected layers ``fc``."""
    c0, c1 = _widths(conv, 2, "MNIST LeNet")
    return BackboneSpec(in_channels, input_size, num_classes, (
        _conv_stage(5, c0, False), _conv_stage(5, c1, False),
        _fc_stage(input_size // 4, fc, False, dropout)), pool_before_head=False)
