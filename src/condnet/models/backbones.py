"""Registered plain backbones, and :func:`backbone_spec` for builders that split them."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from condnet.errors import ConfigError
from condnet.models.lenet import (
    FMNIST_THIN,
    MNIST_THICK,
    MNIST_THIN,
    LeNetOptions,
    lenet_fmnist_spec,
    lenet_mnist_spec,
)
from condnet.models.mobilenetv2 import MobileNetV2Options, mobilenetv2_spec
from condnet.models.registry import register_model, resolve_model_config
from condnet.models.resnet import ResNetOptions, resnet_spec
from condnet.models.stages import GRAY_28, BackboneSpec, InputOptions, StageNet
from condnet.models.vgg import VGGOptions, vgg_spec


@dataclass(frozen=True)
class Backbone:
    """A backbone: its stage-spec function (keyword arguments = the options), its option groups, the
    defaults that differ from the groups' and the arguments that are fixed (not options)."""

    spec: Callable[..., BackboneSpec]
    option_groups: tuple[type, ...]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)


_LENET = (LeNetOptions, InputOptions)
BACKBONES: dict[str, Backbone] = {
    "lenet_fmnist_thick": Backbone(lenet_fmnist_spec, _LENET,
                                   "paper B Fashion Net, thick baseline (conv 32/64/128, FC 512/256)",
                                   GRAY_28),
    "lenet_fmnist_thin": Backbone(lenet_fmnist_spec, _LENET, "paper B Fashion Net, thin baseline (one "
                                  "[1,2,4] path: conv 32/32/32, FC 128/64)", GRAY_28, FMNIST_THIN),
    "lenet_mnist_thick": Backbone(lenet_mnist_spec, _LENET,
                                  "paper B MNIST LeNet, thick baseline (conv 20/30, FC 100)",
                                  {**GRAY_28, **MNIST_THICK}),
    "lenet_mnist_thin": Backbone(lenet_mnist_spec, _LENET,
                                 "paper B MNIST LeNet, thin baseline (one path: conv 20/15, FC 25)", GRAY_28,
                                 MNIST_THIN),
    **{f"resnet{d}": Backbone(resnet_spec, (ResNetOptions, InputOptions),
                              f"CIFAR ResNet-{d} (BasicBlocks, 16/32/64)", fixed={"depth": d})
       for d in (20, 32, 56, 110)},
    **{f"vgg{d}": Backbone(vgg_spec, (VGGOptions, InputOptions), f"CIFAR VGG-{d} with BatchNorm",
                           fixed={"depth": d}) for d in (11, 16)},
    "mobilenetv2": Backbone(mobilenetv2_spec, (MobileNetV2Options, InputOptions),
                            "MobileNetV2 for 32x32 inputs"),
}


def backbone_spec(name: str, **options: Any) -> BackboneSpec:
    """The stage spec of backbone ``name`` with ``options`` over its defaults (checked as a config's)."""
    if name not in BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name].spec(**BACKBONES[name].fixed, **resolve_model_config(name, **options))


def _plain_factory(spec: Callable[..., BackboneSpec]) -> Callable[..., nn.Module]:
    def factory(**options: Any) -> nn.Module:
        return StageNet(spec(**options))

    return factory


for _name, _backbone in BACKBONES.items():
    register_model(_name, _plain_factory(_backbone.spec), _backbone.option_groups, _backbone.description,
                   "backbone", defaults=_backbone.defaults, fixed=_backbone.fixed)
