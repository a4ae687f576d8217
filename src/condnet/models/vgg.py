"""CIFAR VGG-11/16 with BatchNorm, one stage per max-pooling block (ceil-mode pooling, so 28x28 works)."""

from dataclasses import dataclass

from torch import nn

from condnet.models.stages import BackboneSpec, StageSpec, conv_bn_relu, scaled
from condnet.options import ModelOptions, option

VGG_STAGES = {
    11: ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
}


def _vgg_stage(index: int, widths: tuple[int, ...]) -> StageSpec:
    def build(in_channels: int, scale: float) -> tuple[nn.Module, int]:
        layers: list[nn.Module] = []
        for width in widths:
            out = scaled(width, scale)
            layers.append(conv_bn_relu(in_channels, out, 3))
            in_channels = out
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
        return nn.Sequential(*layers), in_channels

    return StageSpec(f"block{index + 1}", build)


@dataclass(frozen=True)
class VGGOptions(ModelOptions):
    """A VGG's depth."""

    depth: int = option(11, choices=tuple(VGG_STAGES))


def vgg_spec(depth: int, in_channels: int, input_size: int, num_classes: int) -> BackboneSpec:
    """VGG-``depth`` (11 or 16) for small images: 5 conv blocks, global pooling, one linear layer."""
    VGGOptions(depth)  # checks it
    return BackboneSpec(in_channels, input_size, num_classes,
                        tuple(_vgg_stage(i, w) for i, w in enumerate(VGG_STAGES[depth])))
