"""Registered plain backbones, and :func:`backbone_spec` for builders that split them."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from condnet.errors import ConfigError
from condnet.models.lenet import MNIST_DEFAULTS, LeNetOptions, lenet_fmnist_spec, lenet_mnist_spec
from condnet.models.mobilenetv2 import MobileNetV2Options, mobilenetv2_spec
from condnet.models.registry import register_model
from condnet.models.resnet import ResNetOptions, resnet_spec
from condnet.models.stages import BackboneSpec, InputOptions, StageNet
from condnet.models.vgg import VGGOptions, vgg_spec
from condnet.options import default_of


@dataclass(frozen=True)
class Backbone:
    """A backbone: its stage-spec function (keyword arguments = the options), its option groups, the
    defaults that differ from the groups' and the arguments that are fixed (not options)."""

    spec: Callable[..., BackboneSpec]
    options: tuple[type, ...]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)


_GRAY_28 = {"in_channels": 1, "input_size": 28}
_LENET = (LeNetOptions, InputOptions)
BACKBONES: dict[str, Backbone] = {
    "lenet_fmnist_thick": Backbone(lenet_fmnist_spec, _LENET,
                                   "paper B Fashion Net, thick baseline (conv 32/64/128, FC 512/256)",
                                   _GRAY_28),
    "lenet_fmnist_thin": Backbone(lenet_fmnist_spec, _LENET, "paper B Fashion Net, thin baseline (one "
                                  "[1,2,4] path: conv 32/32/32, FC 128/64)", _GRAY_28,
                                  {"conv": [32, 32, 32], "fc": [128, 64]}),
    "lenet_mnist_thick": Backbone(lenet_mnist_spec, _LENET,
                                  "paper B MNIST LeNet, thick baseline (conv 20/30, FC 100)",
                                  {**_GRAY_28, **MNIST_DEFAULTS}),
    "lenet_mnist_thin": Backbone(lenet_mnist_spec, _LENET,
                                 "paper B MNIST LeNet, thin baseline (one path: conv 20/15, FC 25)", _GRAY_28,
                                 {"conv": [20, 15], "fc": [25]}),
    **{f"resnet{d}": Backbone(resnet_spec, (ResNetOptions, InputOptions),
                              f"CIFAR ResNet-{d} (BasicBlocks, 16/32/64)", fixed={"depth": d})
       for d in (20, 32, 56, 110)},
    **{f"vgg{d}": Backbone(vgg_spec, (VGGOptions, InputOptions), f"CIFAR VGG-{d} with BatchNorm",
                           fixed={"depth": d}) for d in (11, 16)},
    "mobilenetv2": Backbone(mobilenetv2_spec, (MobileNetV2Options, InputOptions),
                            "MobileNetV2 for 32x32 inputs"),
}


def backbone_spec(name: str, **options: Any) -> BackboneSpec:
    """The stage spec of backbone ``name``; ``options`` (its option groups' fields, fixed ones included)
    override its defaults."""
    if name not in BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    backbone = BACKBONES[name]
    defaults = {f.name: default_of(f) for cls in backbone.options for f in dataclasses.fields(cls)}
    return backbone.spec(**{**defaults, **backbone.defaults, **backbone.fixed, **options})


def _plain_factory(spec: Callable[..., BackboneSpec]) -> Callable[..., nn.Module]:
    def factory(**options: Any) -> nn.Module:
        return StageNet(spec(**options))

    return factory


for _name, _backbone in BACKBONES.items():
    register_model(_name, _plain_factory(_backbone.spec), _backbone.options, _backbone.description,
                   "backbone", defaults=_backbone.defaults, fixed=_backbone.fixed)
