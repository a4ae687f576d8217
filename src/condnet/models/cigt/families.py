"""The registered CIGT trellises: paper B's MNIST / Fashion-MNIST LeNets and CIFAR ResNet-20/32/56/110.

Each family gives the stages of ONE path (the thin network) and where they are cut into layers; every
block of a layer is a fresh copy of that layer's stages, so with path counts [1, 2, 4] the union of the
blocks is the thick baseline. Every config key has paper B's value for the dataset as its default.
"""

from collections.abc import Callable
from typing import Any

from condnet.models.cigt.trellis import CIGTNet, RoutingConfig, TrellisOptions, split_stages
from condnet.models.lenet import FMNIST_THIN, MNIST_THIN, DropoutOptions, lenet_fmnist_spec, lenet_mnist_spec
from condnet.models.registry import Family, register_family, register_model
from condnet.models.resnet import basic_block_stage, resnet_spec
from condnet.models.stages import GRAY_28, InputOptions, StageSpec
from condnet.options import fields_of, group_of

register_family(Family("cigt", "a conditional information gain trellis (paper B): one block per layer "
                       "per sample", routed=True))


def lenet_fmnist_path(dropout: float, in_channels: int, input_size: int, num_classes: int) -> list[StageSpec]:
    """One Fashion Net path: conv 32/32/32, FC 128/64 (stages conv0, conv1, conv2, fc)."""
    spec = lenet_fmnist_spec(**FMNIST_THIN, dropout=dropout, in_channels=in_channels, input_size=input_size,
                             num_classes=num_classes)
    return list(spec.stages)


def lenet_mnist_path(dropout: float, in_channels: int, input_size: int, num_classes: int) -> list[StageSpec]:
    """One MNIST LeNet path: conv 20/15, FC 25 (stages conv0, conv1, fc)."""
    spec = lenet_mnist_spec(**MNIST_THIN, dropout=dropout, in_channels=in_channels, input_size=input_size,
                            num_classes=num_classes)
    return list(spec.stages)


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


def _register(name: str, description: str, path_fn: Callable[..., list[StageSpec]],
              path_options: tuple[type, ...], boundaries: list[int], head_pool: bool,
              **defaults: Any) -> None:
    def build(**options: Any) -> CIGTNet:
        stages = path_fn(**{k: options[k] for k in fields_of(*path_options)})
        trellis, inputs = group_of(TrellisOptions, options), group_of(InputOptions, options)
        cuts = trellis.layer_cuts([s.name for s in stages], boundaries)
        return CIGTNet(split_stages(stages, cuts), trellis.path_counts, inputs.in_channels, inputs.input_size,
                       inputs.num_classes, head_pool, group_of(RoutingConfig, options))

    register_model(name, build, (*path_options, TrellisOptions, RoutingConfig), description, "cigt",
                   defaults=defaults)


_register("cigt_lenet_fmnist", "CIGT trellis of paper B's Fashion Net (one path = lenet_fmnist_thin)",
          lenet_fmnist_path, (DropoutOptions, InputOptions), [1, 2], False, dropout=0.185, **GRAY_28)
_register("cigt_lenet_mnist", "CIGT trellis of paper B's MNIST LeNet (one path = lenet_mnist_thin)",
          lenet_mnist_path, (DropoutOptions, InputOptions), [1, 2], False, ig_weight=0.288, balance=6.42,
          temperature_decay=0.999879, warmup_epochs=25, random_ratio=0.36, dropout=0.0, **GRAY_28)
for _depth in (20, 32, 56, 110):
    _register(f"cigt_resnet{_depth}_cifar10",
              f"CIGT trellis of CIFAR ResNet-{_depth}, cut as paper B's ResNet-110 one",
              resnet_path(_depth), (InputOptions,), [2, 4], True, ig_weight=1.0, balance=5.0,
              temperature_decay=0.9999, temperature_min=0.1, warmup_epochs=350, random_ratio=0.5,
              router_pool=8)
