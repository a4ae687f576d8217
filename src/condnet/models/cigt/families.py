"""The registered CIGT trellises: paper B's MNIST / Fashion-MNIST LeNets and CIFAR ResNet-20/32/56/110.

Each family gives the stages of ONE path (the thin network) and where they are cut into layers; every
block of a layer is a fresh copy of that layer's stages, so with path counts [1, 2, 4] the union of the
blocks is the thick baseline. Every config key has paper B's value for the dataset as its default.
"""

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from condnet.errors import CondnetError
from condnet.models.cigt.loss import CLS_LOSSES
from condnet.models.cigt.trellis import CIGTNet, RoutingConfig, split_stages
from condnet.models.lenet import lenet_fmnist_spec, lenet_mnist_spec
from condnet.models.registry import register_model
from condnet.models.resnet import basic_block_stage, resnet_spec
from condnet.models.stages import StageSpec

CHOICES = {"execution": ("gather", "dense"), "routing": ("ig", "random"), "cls_loss": CLS_LOSSES,
           "warmup_routing": ("random", "all"), "random_draw": ("per_router", "shared")}


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


def _check(cfg: dict[str, Any], stage_names: list[str], default_boundaries: list[int]) -> list[int]:
    """Validate the trellis options; return the layer boundaries (stage indices)."""
    for key, choices in CHOICES.items():
        if cfg[key] not in choices:
            raise CondnetError(f"model.{key} must be one of {', '.join(choices)}, got {cfg[key]!r}")
    counts = cfg["path_counts"]
    if not counts or not all(isinstance(k, int) and k >= 1 for k in counts):
        raise CondnetError("model.path_counts must be a list of positive integers, e.g. [1, 2, 4]; "
                           f"got {counts!r}")
    boundaries = cfg["boundaries"] if cfg["boundaries"] is not None else default_boundaries
    if len(boundaries) != len(counts) - 1:
        raise CondnetError(f"model.path_counts {counts} has {len(counts)} layers, so model.boundaries needs "
                           f"{len(counts) - 1} stage indices where layers begin (stages: "
                           f"{', '.join(f'{i}={s}' for i, s in enumerate(stage_names))}); got {boundaries}")
    if list(boundaries) != sorted(set(boundaries)) or (
            boundaries and not 0 < boundaries[0] <= boundaries[-1] < len(stage_names)):
        raise CondnetError(f"model.boundaries must be increasing stage indices in 1..{len(stage_names) - 1}, "
                           f"got {boundaries}")
    if not 0.0 <= cfg["random_ratio"] <= 1.0:
        raise CondnetError(f"model.random_ratio must be in [0, 1], got {cfg['random_ratio']}")
    if (cfg["temperature_initial"] <= 0 or cfg["temperature_min"] <= 0
            or not 0 < cfg["temperature_decay"] <= 1):
        raise CondnetError("model.temperature_initial and temperature_min must be > 0 "
                           "and temperature_decay in (0, 1]")
    return list(boundaries)


def _register(name: str, description: str, path_fn: Callable[..., list[StageSpec]], boundaries: list[int],
              head_pool: bool, **defaults: Any) -> None:
    routing_keys = {f.name for f in dataclasses.fields(RoutingConfig)}
    path_keys = list(inspect.signature(path_fn).parameters)

    def factory(**cfg: Any) -> CIGTNet:
        stages = path_fn(**{k: cfg[k] for k in path_keys})
        cuts = _check(cfg, [s.name for s in stages], boundaries)
        routing = RoutingConfig(**{k: cfg[k] for k in routing_keys})
        return CIGTNet(split_stages(stages, cuts), cfg["path_counts"], cfg["in_channels"], cfg["input_size"],
                       cfg["num_classes"], head_pool, routing)

    options = {"path_counts": [1, 2, 4], "boundaries": None, **dataclasses.asdict(RoutingConfig()),
               **defaults}
    factory.__signature__ = inspect.Signature(
        [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in options.items()])
    register_model(name, factory, description, "cigt")


_LENET = {"in_channels": 1, "input_size": 28, "num_classes": 10}
_register("cigt_lenet_fmnist", "CIGT trellis of paper B's Fashion Net (one path = lenet_fmnist_thin)",
          lenet_fmnist_path, [1, 2], False, dropout=0.185, **_LENET)
_register("cigt_lenet_mnist", "CIGT trellis of paper B's MNIST LeNet (one path = lenet_mnist_thin)",
          lenet_mnist_path, [1, 2], False, ig_weight=0.288, balance=6.42, temperature_decay=0.999879,
          warmup_epochs=25, random_ratio=0.36, dropout=0.0, **_LENET)
for _depth in (20, 32, 56, 110):
    _register(f"cigt_resnet{_depth}_cifar10",
              f"CIGT trellis of CIFAR ResNet-{_depth}, cut as paper B's ResNet-110 one",
              resnet_path(_depth), [2, 4], True, ig_weight=1.0, balance=5.0, temperature_decay=0.9999,
              temperature_min=0.1, warmup_epochs=350, random_ratio=0.5, router_pool=8, in_channels=3,
              input_size=32, num_classes=10)
