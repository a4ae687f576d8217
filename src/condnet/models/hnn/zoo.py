"""Registered hierarchical networks: a backbone, its dataset's hierarchy and a split point each.

An HNN's options = its backbone's option groups + :class:`~condnet.models.hnn.network.HNNOptions` +
:class:`~condnet.models.hnn.cues.CueTraining`. ``classes`` is set for an expert (the full model's config
+ its kept classes), so an expert checkpoint is rebuilt like any registered model.
"""

from typing import Any

from torch import nn

from condnet.data.hierarchy import BUILTIN_TREES, resolve_hierarchy
from condnet.models.backbones import BACKBONES, Backbone
from condnet.models.hnn.cues import CueTraining
from condnet.models.hnn.network import HNN, HNNOptions
from condnet.models.registry import Family, register_family, register_model
from condnet.models.stages import GRAY_28
from condnet.options import fields_of, group_of

register_family(Family("hnn", "a hierarchical network (paper A): trunk, per-category branches",
                       hierarchical=True))


def hnn_builder(backbone: Backbone) -> Any:
    """A registry builder making an :class:`HNN` on ``backbone`` from the options of all three groups."""
    def build(**options: Any) -> nn.Module:
        spec = backbone.spec(**{k: options[k] for k in fields_of(*backbone.option_groups)})
        own, cues = group_of(HNNOptions, options), group_of(CueTraining, options)
        tree = resolve_hierarchy(own.hierarchy, spec.num_classes)
        return HNN(spec, tree, own, cues)

    return build


ZOO = {  # name -> backbone, hierarchy, split, width floor, backbone defaults
    "hnn_lenet_fmnist": ("lenet_fmnist_thick", "fashion_mnist", 1, 0.0625, {}),
    "hnn_lenet_mnist": ("lenet_mnist_thick", "mnist", 1, 0.0625, {}),
    "hnn_resnet20_fmnist": ("resnet20", "fashion_mnist", 1, 0.0625, GRAY_28),
    "hnn_resnet20_cifar10": ("resnet20", "cifar10", 1, 0.0625, {}),
    "hnn_resnet56_cifar100": ("resnet56", "cifar100", 1, 0.125, {"num_classes": 100}),
    "hnn_vgg11_cifar10": ("vgg11", "cifar10", 1, 0.0625, {}),
    "hnn_mobilenetv2_cifar10": ("mobilenetv2", "cifar10", 2, 0.0625, {}),
}

for _name, (_backbone, _tree, _split, _floor, _defaults) in ZOO.items():
    _source = (f"{_tree} hierarchy" if _tree in BUILTIN_TREES
               else "hierarchy from `condnet hierarchy` (model.hierarchy)")
    _base = BACKBONES[_backbone]
    register_model(_name, hnn_builder(_base), (*_base.option_groups, HNNOptions, CueTraining),
                   f"HNN on {_backbone}, {_source}, trunk = first {_split} stage(s)", "hnn",
                   defaults={**_base.defaults, **_defaults, "hierarchy": _tree, "split": _split,
                             "width_floor": _floor}, fixed=_base.fixed)
