"""HNNs and CIGT trellises from stages the user writes.

A stage is a plain factory ``build(in_channels, scale) -> (module, out_channels)``: it makes the stage's
module for ``in_channels`` input channels at ``scale`` times its full width (an HNN narrows a node's
copy of a stage by its share of the classes; a trellis builds every block at scale 1). The stages in
order form the backbone; the classifier head (global average pooling for feature maps, then a linear
layer) is added by condnet. docs/extending.md has a worked example.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from condnet.data.hierarchy import resolve_hierarchy
from condnet.errors import ConfigError
from condnet.models.cigt.trellis import CIGTNet, RoutingConfig, TrellisOptions, split_stages
from condnet.models.hnn.cues import CueTraining
from condnet.models.hnn.network import HNN, HNNOptions
from condnet.models.stages import BackboneSpec, StageSpec

StageFactory = Callable[[int, float], tuple[nn.Module, int]]


def backbone_from_stages(stages: Sequence[StageFactory], in_channels: int, input_size: int, num_classes: int,
                         pool_before_head: bool = True) -> BackboneSpec:
    """A backbone spec of the user's stage factories (named stage0, stage1, ...)."""
    if not stages or not all(callable(s) for s in stages):
        raise ConfigError("stages must be a non-empty list of factories build(in_channels, scale) -> "
                          "(module, out_channels)")
    specs = tuple(StageSpec(getattr(s, "__name__", f"stage{i}"), s) for i, s in enumerate(stages))
    return BackboneSpec(in_channels, input_size, num_classes, specs, pool_before_head)


def hnn_from_stages(stages: Sequence[StageFactory], hierarchy: Any, in_channels: int, input_size: int,
                    num_classes: int, **options: Any) -> HNN:
    """An HNN on the user's stages. ``hierarchy`` is a built-in tree name, a .yaml/.json file or an inline
    mapping with ``classes`` and ``tree`` (docs/hnn.md); ``options`` are the other fields of
    :class:`HNNOptions` and :class:`CueTraining` (``split``: the first ``split`` stages are the trunk;
    ``classes`` makes an expert, so a factory used in configs must accept and pass it on)."""
    own_names, cue_names = ({f.name for f in dataclasses.fields(cls)} for cls in (HNNOptions, CueTraining))
    unknown = sorted(set(options) - (own_names | cue_names))
    if unknown:
        raise ConfigError(f"hnn_from_stages has no option {unknown[0]!r}; valid: "
                          f"{', '.join(sorted(own_names - {'hierarchy'} | cue_names))}")
    own = HNNOptions(hierarchy=hierarchy, **{k: v for k, v in options.items() if k in own_names})
    cues = CueTraining(**{k: v for k, v in options.items() if k in cue_names})
    spec = backbone_from_stages(stages, in_channels, input_size, num_classes)
    return HNN(spec, resolve_hierarchy(hierarchy, num_classes), own, cues)


def cigt_from_stages(stages: Sequence[StageFactory], boundaries: Sequence[int], path_counts: Sequence[int],
                     in_channels: int, input_size: int, num_classes: int, head_pool: bool = True,
                     **routing: Any) -> CIGTNet:
    """A CIGT trellis whose paths are the user's stages, cut into layers where ``boundaries`` (stage
    indices) say; ``routing`` takes the keys of :class:`RoutingConfig` (paper B's Fashion-MNIST defaults)."""
    spec = backbone_from_stages(stages, in_channels, input_size, num_classes)
    trellis = TrellisOptions(list(path_counts), list(boundaries))
    cuts = trellis.layer_cuts([s.name for s in spec.stages])
    return CIGTNet(split_stages(spec.stages, cuts), trellis.path_counts, in_channels, input_size, num_classes,
                   head_pool, RoutingConfig(**routing))
