"""Registered hierarchical networks: a backbone, its dataset's hierarchy and a split point each.

Config keys of an HNN model = the backbone's options + ``hierarchy`` (a built-in dataset name, a
.yaml/.json file, or an inline mapping with ``classes`` and ``tree``), ``split``, ``width_rule``,
``width_floor``, ``attention`` (head | node | evidence, see ``network``), the attention-aware training
settings ``cue_fraction`` (0: off), ``cue_reliability``, ``cue_gain_min``, ``cue_gain_max``,
``cue_inhibit`` (see ``cues``) and ``classes`` (set for an expert: the full model's config + its kept
classes, so an expert checkpoint is rebuilt like any registered model).
"""

import dataclasses
import inspect
from typing import Any

from torch import nn

from condnet.data.hierarchy import BUILTIN_TREES, resolve_hierarchy
from condnet.models.backbones import BACKBONES, backbone_spec
from condnet.models.hnn.cues import CueTraining
from condnet.models.hnn.network import HNN
from condnet.models.registry import register_model

HNN_OPTIONS = ("hierarchy", "split", "width_rule", "width_floor", "classes", "attention")
CUE_OPTIONS = {f"cue_{f.name}": f.name for f in dataclasses.fields(CueTraining)}


def hnn_factory(backbone: str, hierarchy: str, split: int, width_floor: float,
                **backbone_defaults: Any) -> Any:
    """A registry factory building an :class:`HNN` on ``backbone``; its signature lists the config keys."""
    spec_fn, fixed, _ = BACKBONES[backbone]
    params = [p.replace(default=backbone_defaults.get(p.name, p.default))
              for p in inspect.signature(spec_fn).parameters.values() if p.name not in fixed]
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [p.replace(kind=keyword) for p in params] + [
        inspect.Parameter("hierarchy", keyword, default=hierarchy),
        inspect.Parameter("split", keyword, default=split),
        inspect.Parameter("width_rule", keyword, default="share"),
        inspect.Parameter("width_floor", keyword, default=width_floor),
        inspect.Parameter("classes", keyword, default=None),
        inspect.Parameter("attention", keyword, default="head")] + [
        inspect.Parameter(option, keyword, default=getattr(CueTraining(), field))
        for option, field in CUE_OPTIONS.items()]

    def factory(**cfg: Any) -> nn.Module:
        own = {k: cfg.pop(k) for k in HNN_OPTIONS}
        cues = CueTraining(**{field: cfg.pop(option) for option, field in CUE_OPTIONS.items()})
        spec = backbone_spec(backbone, **cfg)
        tree = resolve_hierarchy(own["hierarchy"], spec.num_classes)
        return HNN(spec, tree, own["split"], own["width_rule"], own["width_floor"], own["classes"],
                   own["attention"], cues)

    factory.__signature__ = inspect.Signature(params)
    return factory


FMNIST_SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}
ZOO = {
    "hnn_lenet_fmnist": ("lenet_fmnist_thick", "fashion_mnist", 1, 0.0625, FMNIST_SHAPE),
    "hnn_lenet_mnist": ("lenet_mnist_thick", "mnist", 1, 0.0625, {}),
    "hnn_resnet20_fmnist": ("resnet20", "fashion_mnist", 1, 0.0625, FMNIST_SHAPE),
    "hnn_resnet20_cifar10": ("resnet20", "cifar10", 1, 0.0625, {}),
    "hnn_resnet56_cifar100": ("resnet56", "cifar100", 1, 0.125, {"num_classes": 100}),
    "hnn_vgg11_cifar10": ("vgg11", "cifar10", 1, 0.0625, {}),
    "hnn_mobilenetv2_cifar10": ("mobilenetv2", "cifar10", 2, 0.0625, {}),
}

for _name, (_backbone, _tree, _split, _floor, _defaults) in ZOO.items():
    _source = (f"{_tree} hierarchy" if _tree in BUILTIN_TREES
               else "hierarchy from `condnet hierarchy` (model.hierarchy)")
    register_model(_name, hnn_factory(_backbone, _tree, _split, _floor, **_defaults),
                   f"HNN on {_backbone}, {_source}, trunk = first {_split} stage(s)", "hnn")
