"""A user's own small CNN, given to condnet as stage factories (imported by path in tests)."""

from torch import nn

from condnet.models.user_stages import cigt_from_stages, hnn_from_stages


def conv_stage(in_channels: int, scale: float) -> tuple[nn.Module, int]:
    out = max(1, round(16 * scale))
    return nn.Sequential(nn.Conv2d(in_channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                         nn.MaxPool2d(2)), out


def wide_stage(in_channels: int, scale: float) -> tuple[nn.Module, int]:
    out = max(1, round(32 * scale))
    return nn.Sequential(nn.Conv2d(in_channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()), out


STAGES = [conv_stage, conv_stage, wide_stage, wide_stage]


def build_hnn(in_channels: int = 1, input_size: int = 28, num_classes: int = 10,
              hierarchy: str = "fashion_mnist", width_rule: str = "share", classes: list[int] | None = None):
    """An HNN on a hand-written 4-stage CNN."""
    return hnn_from_stages(STAGES, hierarchy, in_channels, input_size, num_classes, split=1,
                           width_rule=width_rule, classes=classes)


build_hnn.condnet_family = "hnn"


def build_cigt(in_channels: int = 1, input_size: int = 28, num_classes: int = 10):
    """A CIGT [1,2,2] trellis on the same CNN."""
    return cigt_from_stages(STAGES, [1, 3], [1, 2, 2], in_channels, input_size, num_classes, warmup_epochs=0)


build_cigt.condnet_family = "cigt"
