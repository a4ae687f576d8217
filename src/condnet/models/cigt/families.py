"""The registered CIGT trellises: paper B's MNIST / Fashion-MNIST LeNets and CIFAR ResNet-20/32/56/110.

Each family gives the stages of ONE path (the thin network) and where they are cut into layers; every
block of a layer is a fresh copy of that layer's stages, so with path counts [1, 2, 4] the union of the
blocks is the thick baseline. Every config key has paper B's value for the dataset as its default.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from condnet.errors import ConfigError
from condnet.models.cigt.trellis import CIGTNet, RoutingConfig, split_stages
from condnet.models.lenet import DropoutOptions, lenet_fmnist_spec, lenet_mnist_spec
from condnet.models.registry import Family, register_family, register_model
from condnet.models.resnet import basic_block_stage, resnet_spec
from condnet.models.stages import InputOptions, StageSpec
from condnet.options import fields_of, group_of, option

register_family(Family("cigt", "a conditional information gain trellis (paper B): one block per layer "
                       "per sample", routed=True))


@dataclass(frozen=True)
class TrellisOptions:
    """How many parallel blocks each layer has, and where the layers are cut."""

    path_counts: list[int] = option([1, 2, 4], at_least=1, doc="blocks per layer")
    boundaries: list[int] | None = option(None, at_least=1,
                                          doc="stage indices where layers 2.. begin; None: the family's")


def lenet_fmnist_path(dropout: float, in_channels: int, input_size: int, num_classes: int) -> list[StageSpec]:
    """One Fashion Net path: conv 32/32/32, FC 128/64 (stages conv0, conv1, conv2, fc)."""
    spec = lenet_fmnist_spec((32, 32, 32), (128, 64), dropout, in_channels, input_size, num_classes)
    return list(spec.stages)


def lenet_mnist_path(dropout: float, in_channels: int, input_size: int, num_classes: int) -> list[StageSpec]:
    """One MNIST LeNet path: conv 20/15, FC 25 (stages conv0, conv1, fc)."""
    return list(lenet_mnist_spec((20, 15), (25,), dropout, in_channels, input_size, num_classes).stages)


def resnet_path(depth: int) -> Callable[..., list[StageSpec]]:
    """One CIFAR ResNet path of paper B's trellis (n = (depth-2)/6 BasicBlocks per ResNet stage):
    stem 16, n//2 blocks x 16, n - n//2 blocks x 12, n blocks x 16 (stride 2), n blocks x 16 (stride 2)."""
    def build(in_channels: int, input_size: int, num_classes: int) -> list[StageSpec]:
        stem = resnet_spec(depth, 16, "projection", in_channels, input_size, num_classes).stages[0]
        n = (depth - 2) // 6
        return [stem, basic_block_stage("stage1a", n // 2, 16, 1, "projection"),
                basic_block_stage("stage1b", n - n // 2, 12, 1, "projection"),
                basic_block_stage("stage2", n, 16, 2, "projection"),
                basic_block_stage("stage3", n, 16, 2, "projection")]

    return build


def _layer_cuts(trellis: TrellisOptions, stage_names: list[str], default_boundaries: list[int]) -> list[int]:
    """The layer boundaries (stage indices), checked against the path's stages."""
    counts = trellis.path_counts
    boundaries = trellis.boundaries if trellis.boundaries is not None else default_boundaries
    if not counts:
        raise ConfigError("model.path_counts must be a non-empty list of positive integers, e.g. [1, 2, 4]")
    if len(boundaries) != len(counts) - 1:
        raise ConfigError(f"model.path_counts {counts} has {len(counts)} layers, so model.boundaries needs "
                          f"{len(counts) - 1} stage indices where layers begin (stages: "
                          f"{', '.join(f'{i}={s}' for i, s in enumerate(stage_names))}); got {boundaries}")
    if list(boundaries) != sorted(set(boundaries)) or (
            boundaries and not 0 < boundaries[0] <= boundaries[-1] < len(stage_names)):
        raise ConfigError(f"model.boundaries must be increasing stage indices in 1..{len(stage_names) - 1}, "
                          f"got {boundaries}")
    return list(boundaries)


def _register(name: str, description: str, path_fn: Callable[..., list[StageSpec]],
              path_options: tuple[type, ...], boundaries: list[int], head_pool: bool,
              **defaults: Any) -> None:
    def build(**options: Any) -> CIGTNet:
        stages = path_fn(**{k: options[k] for k in fields_of(*path_options)})
        trellis, inputs = group_of(TrellisOptions, options), group_of(InputOptions, options)
        cuts = _layer_cuts(trellis, [s.name for s in stages], boundaries)
        return CIGTNet(split_stages(stages, cuts), trellis.path_counts, inputs.in_channels, inputs.input_size,
                       inputs.num_classes, head_pool, group_of(RoutingConfig, options))

    register_model(name, build, (*path_options, TrellisOptions, RoutingConfig), description, "cigt",
                   defaults=defaults)


_LENET = {"in_channels": 1, "input_size": 28}
_register("cigt_lenet_fmnist", "CIGT trellis of paper B's Fashion Net (one path = lenet_fmnist_thin)",
          lenet_fmnist_path, (DropoutOptions, InputOptions), [1, 2], False, dropout=0.185, **_LENET)
_register("cigt_lenet_mnist", "CIGT trellis of paper B's MNIST LeNet (one path = lenet_mnist_thin)",
          lenet_mnist_path, (DropoutOptions, InputOptions), [1, 2], False, ig_weight=0.288, balance=6.42,
          temperature_decay=0.999879, warmup_epochs=25, random_ratio=0.36, dropout=0.0, **_LENET)
for _depth in (20, 32, 56, 110):
    _register(f"cigt_resnet{_depth}_cifar10",
              f"CIGT trellis of CIFAR ResNet-{_depth}, cut as paper B's ResNet-110 one",
              resnet_path(_depth), (InputOptions,), [2, 4], True, ig_weight=1.0, balance=5.0,
              temperature_decay=0.9999, temperature_min=0.1, warmup_epochs=350, random_ratio=0.5,
              router_pool=8)
