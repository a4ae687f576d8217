"""The hierarchical network (HNN): a shared trunk, nested per-node segments, one 1-logit head per class.

``HNN(spec, hierarchy, ...)`` builds the network of a backbone spec (see ``plan`` for the layout).
``model(x, gains={node: gain})`` applies top-down attention with a gain >= 0 per node (a number, or a
tensor with one gain per sample), where ``attention`` says:

- ``"head"`` (default): the gain multiplies the category-specific high-level features of every class
  below the node (its pooled leaf features, right before its 1-logit head). Nothing normalises them
  after that point, so a gain acts the same in training and in eval mode (docs/hnn.md).
- ``"node"`` (``"features"`` is its former name): the node's output features are multiplied by its
  gain before they reach its children or its head, the literal reading of paper A; the children's
  BatchNorm rescales them (batch statistics in training, running statistics in eval).
- ``"evidence"`` (a baseline, not feature attention): log(gain) is added to the logits of the node's
  classes, a class prior that would work the same on a flat network (:meth:`HNN.add_evidence` applies
  it to logits computed without a signal, whatever the mode).

``cues`` (:class:`~condnet.models.hnn.cues.CueTraining`) turns on attention-aware training: training
forwards then take per-sample cue gains drawn from the labels (:meth:`HNN.training_kwargs`).
``model.cutout(classes)`` returns an expert: a physically smaller HNN holding only the trunk and the
segments on the paths to the kept classes, whose logits equal the full model's for those classes.

Sibling segments run one after another, so that an expert's logits equal the full model's bit for bit.
For inference, :class:`condnet.deploy.fused_hnn.FusedHNN` (what ``condnet export`` exports and ``condnet
bench`` times) runs each tree level's segments as one module with fewer, larger kernels, equal to this
forward within float rounding.
"""

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from condnet.data.hierarchy import Hierarchy, HierarchySource, leaves
from condnet.errors import CondnetError
from condnet.models.hnn.cues import CueTraining, training_gains
from condnet.models.hnn.plan import WIDTH_RULES, plan_segments
from condnet.models.stages import BackboneSpec
from condnet.options import REQUIRED, ModelOptions, option

Gain = float | torch.Tensor
ATTENTION_MODES = ("head", "node", "evidence")
ATTENTION_ALIASES = {"features": "node"}  # the former name of "node"


@dataclass(frozen=True)
class HNNOptions(ModelOptions):
    """How an HNN is cut from its backbone (besides the backbone's own options and :class:`CueTraining`)."""

    hierarchy: HierarchySource = option(
        REQUIRED, doc="class tree: a built-in dataset name, a .yaml/.json file, or a mapping {classes, tree}")
    split: int = option(1, at_least=0, doc="the trunk is the backbone's first `split` stages")
    width_rule: str = option("share", choices=WIDTH_RULES,
                             doc="a node's width: its share of the classes, or the square root of it")
    width_floor: float = option(0.0625, above=0, at_most=1, doc="the narrowest a node gets")
    classes: list[int] | None = option(None, at_least=0,
                                       doc="an expert's kept classes (set by `condnet cutout`)")
    attention: str = option("head", choices=(*ATTENTION_MODES, *ATTENTION_ALIASES),
                            doc="where top-down gains act (docs/hnn.md, Top-down attention)")


class HNN(nn.Module):
    """Trunk = first ``options.split`` stages of ``spec``; the rest distributed over ``hierarchy``'s levels
    (``options.hierarchy`` is where the tree came from; ``hierarchy`` is the tree).

    ``options.classes`` (indices) makes an expert holding only what those classes need; its logits are in
    the order of ``classes`` sorted. ``width_rule`` ("share" or "sqrt_share") and ``width_floor`` set each
    node's width as a fraction of the backbone's: ``max(floor, share of classes (or its square root))``.
    """

    def __init__(self, spec: BackboneSpec, hierarchy: Hierarchy, options: HNNOptions,
                 cues: CueTraining | None = None) -> None:
        super().__init__()
        self.options, self.cues = options, cues or CueTraining()
        self.attention = ATTENTION_ALIASES.get(options.attention, options.attention)
        if hierarchy.num_classes != spec.num_classes:
            raise CondnetError(f"the hierarchy has {hierarchy.num_classes} classes, the backbone "
                               f"{spec.num_classes}")
        self.spec, self.hierarchy = spec, hierarchy
        kept = None if options.classes is None else sorted({int(c) for c in options.classes})
        if kept is not None and (not kept or kept[0] < 0 or kept[-1] >= hierarchy.num_classes):
            raise CondnetError(f"expert classes must be a non-empty subset of 0..{hierarchy.num_classes - 1}")
        self.classes = kept  # None for the full network (it answers for every class)
        self.segments = plan_segments(hierarchy, len(spec.stages), options.split, options.width_rule,
                                      options.width_floor, None if kept is None else set(kept))
        self.trunk, channels = self._build(range(options.split), spec.in_channels, 1.0)
        out_channels = {hierarchy.root.name: channels}
        blocks = {}
        for seg in self.segments:
            blocks[seg.key], out_channels[seg.node] = self._build(seg.stages, out_channels[seg.source],
                                                                  seg.scale)
        self.blocks = nn.ModuleDict(blocks)
        self.heads = nn.ModuleDict({f"c{c}": nn.Linear(out_channels[hierarchy.class_names[c]], 1)
                                    for c in self.output_classes})
        self.node_names = {hierarchy.root.name, *(s.node for s in self.segments)}
        position = {c: i for i, c in enumerate(self.output_classes)}
        self._columns = {name: torch.tensor([position[c] for c in self.node_classes(name) if c in position])
                         for name in self.node_names}

    def _build(self, stages: Sequence[int], channels: int, scale: float) -> tuple[nn.Module, int]:
        modules = []
        for index in stages:
            module, channels = self.spec.stages[index].build(channels, scale)
            modules.append(module)
        return nn.Sequential(*modules), channels

    @property
    def output_classes(self) -> list[int]:
        """Class indices (of the full network) of the logits, in output order."""
        return list(range(self.hierarchy.num_classes)) if self.classes is None else self.classes

    @property
    def class_names(self) -> list[str]:
        return [self.hierarchy.class_names[c] for c in self.output_classes]

    def _check_gains(self, gains: Mapping[str, Gain], batch: int) -> dict[str, Gain]:
        checked = {}
        for name, gain in gains.items():
            if name not in self.node_names:
                raise CondnetError(f"no node {name!r} in this network; "
                                   f"nodes: {', '.join(sorted(self.node_names))}")
            values = gain if isinstance(gain, torch.Tensor) else torch.tensor(float(gain))
            if values.ndim > 1 or values.ndim == 1 and len(values) != batch:
                raise CondnetError(f"gain of {name!r} must be a number or one value per sample ({batch})")
            if not bool(torch.isfinite(values).all()) or bool((values < 0).any()):
                raise CondnetError(f"gain of {name!r} must be finite and >= 0, got {gain!r}")
            checked[name] = gain if isinstance(gain, torch.Tensor) else float(gain)
        return checked

    @staticmethod
    def _scaled(features: torch.Tensor, gain: Gain) -> torch.Tensor:
        if isinstance(gain, torch.Tensor):
            gain = gain.to(device=features.device, dtype=features.dtype).reshape(
                -1, *([1] * (features.ndim - 1)))
        return features * gain

    def training_kwargs(self, targets: torch.Tensor) -> dict[str, Any]:
        """Extra forward arguments of a training step: attention-aware training's cue gains, if on."""
        if not self.training or self.cues.cue_fraction <= 0:
            return {}
        return {"gains": training_gains(self.hierarchy, self.cues, targets)}

    def forward(self, x: torch.Tensor, gains: Mapping[str, Gain] | None = None) -> torch.Tensor:
        gains = self._check_gains(gains, len(x)) if gains else {}
        feature_gains = gains if self.attention == "node" else {}
        root = self.hierarchy.root.name
        features = {root: self.trunk(x)}
        if root in feature_gains:
            features[root] = self._scaled(features[root], feature_gains[root])
        for seg in self.segments:
            out = self.blocks[seg.key](features[seg.source])
            if seg.last and seg.node in feature_gains:
                out = self._scaled(out, feature_gains[seg.node])
            features[seg.node] = out
        scale = self._head_gains(gains, x) if self.attention == "head" and gains else None
        logits = []
        for i, c in enumerate(self.output_classes):
            leaf = features[self.hierarchy.class_names[c]]
            pooled = leaf.mean(dim=(2, 3)) if leaf.ndim == 4 else leaf
            logits.append(self.heads[f"c{c}"](pooled if scale is None else pooled * scale[:, i:i + 1]))
        logits = torch.cat(logits, dim=1)
        if self.attention == "evidence" and gains:
            logits = self._add_evidence(logits, gains)
        return logits

    def _head_gains(self, gains: dict[str, Gain], x: torch.Tensor) -> torch.Tensor:
        """[N, outputs]: each output class's product of the gains of the nodes above it (and itself)."""
        scale = torch.ones(len(x), len(self.output_classes), dtype=x.dtype, device=x.device)
        for name, gain in gains.items():
            value = torch.as_tensor(gain, dtype=x.dtype, device=x.device).reshape(-1, 1)
            scale[:, self._columns[name]] = scale[:, self._columns[name]] * value
        return scale

    def add_evidence(self, logits: torch.Tensor, gains: Mapping[str, Gain]) -> torch.Tensor:
        """Evidence attention applied to logits already computed without a signal: equal to
        ``model(x, gains=gains)`` in ``attention="evidence"`` mode, without running the network again."""
        return self._add_evidence(logits, self._check_gains(gains, len(logits)))

    def _add_evidence(self, logits: torch.Tensor, gains: dict[str, Gain]) -> torch.Tensor:
        """Add log(gain) of every node to the logits of the classes below it."""
        shift = torch.zeros_like(logits)
        for name, gain in gains.items():
            values = torch.as_tensor(gain, dtype=logits.dtype, device=logits.device)
            log_gain = torch.log(values).reshape(-1, 1)
            shift[:, self._columns[name]] += log_gain
        return logits + shift

    def cutout(self, classes: Sequence[str | int]) -> "HNN":
        """An expert for ``classes`` (names, indices, or group names meaning all their classes).

        The expert shares no tensors with this network; it is in this network's train/eval mode.
        """
        kept = self.hierarchy.resolve_classes(classes)
        missing = sorted(set(kept) - set(self.output_classes))
        if missing:
            raise CondnetError(f"this expert has no class {self.hierarchy.class_names[missing[0]]!r}; "
                               "cut experts out of the full network")
        options = dataclasses.replace(self.options, classes=kept, attention=self.attention)
        expert = HNN(self.spec, self.hierarchy, options, self.cues)
        own = self.state_dict()
        expert.load_state_dict({k: own[k].clone() for k in expert.state_dict()})
        if hasattr(self, "condnet_config"):
            expert.condnet_config = {**copy.deepcopy(self.condnet_config), "classes": kept}
        return expert.train(self.training)

    def node_classes(self, name: str) -> list[int]:
        """The classes under node ``name`` (a group or a class)."""
        if name in self.hierarchy.class_names:
            return [self.hierarchy.class_names.index(name)]
        return leaves(self.hierarchy.group(name))

    def describe(self) -> list[dict[str, Any]]:
        """One row per segment: node, level, backbone stages, width scale."""
        return [{"node": s.node, "level": s.level, "stages": [self.spec.stages[i].name for i in s.stages],
                 "scale": round(s.scale, 4)} for s in self.segments]
