"""Registered plain backbones, and :func:`backbone_spec` for builders that split them."""

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from condnet.errors import CondnetError
from condnet.models.lenet import lenet_fmnist_spec, lenet_mnist_spec
from condnet.models.mobilenetv2 import mobilenetv2_spec
from condnet.models.registry import register_model
from condnet.models.resnet import resnet_spec
from condnet.models.stages import BackboneSpec, StageNet
from condnet.models.vgg import vgg_spec

# name -> (spec function, fixed arguments, description)
BACKBONES: dict[str, tuple[Callable[..., BackboneSpec], dict[str, Any], str]] = {
    "lenet_fmnist_thick": (lenet_fmnist_spec, {},
                           "paper B Fashion Net, thick baseline (conv 32/64/128, FC 512/256)"),
    "lenet_fmnist_thin": (lenet_fmnist_spec, {"conv": (32, 32, 32), "fc": (128, 64)},
                          "paper B Fashion Net, thin baseline (one [1,2,4] path: conv 32/32/32, FC 128/64)"),
    "lenet_mnist_thick": (lenet_mnist_spec, {}, "paper B MNIST LeNet, thick baseline (conv 20/30, FC 100)"),
    "lenet_mnist_thin": (lenet_mnist_spec, {"conv": (20, 15), "fc": (25,)},
                         "paper B MNIST LeNet, thin baseline (one path: conv 20/15, FC 25)"),
    **{f"resnet{d}": (resnet_spec, {"depth": d}, f"CIFAR ResNet-{d} (BasicBlocks, 16/32/64)")
       for d in (20, 32, 56, 110)},
    **{f"vgg{d}": (vgg_spec, {"depth": d}, f"CIFAR VGG-{d} with BatchNorm") for d in (11, 16)},
    "mobilenetv2": (mobilenetv2_spec, {}, "MobileNetV2 for 32x32 inputs"),
}


def backbone_spec(name: str, **cfg: Any) -> BackboneSpec:
    """The stage spec of backbone ``name``; ``cfg`` overrides its defaults."""
    if name not in BACKBONES:
        raise CondnetError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    spec_fn, fixed, _ = BACKBONES[name]
    return spec_fn(**{**fixed, **cfg})


def _plain_factory(spec_fn: Callable[..., BackboneSpec]) -> Callable[..., nn.Module]:
    def factory(**cfg: Any) -> nn.Module:
        return StageNet(spec_fn(**cfg))

    factory.__signature__ = inspect.signature(spec_fn)  # config keys = the spec's arguments
    return factory


for _name, (_spec_fn, _fixed, _description) in BACKBONES.items():
    register_model(_name, _plain_factory(_spec_fn), _description, "backbone", **_fixed)
