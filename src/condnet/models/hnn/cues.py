"""Top-down cues: the nodes of a class tree level by level, and the cues of attention-aware training.

Level L (1 = the root's children) holds the node at depth L of every class's path, or the class itself
when its path is shorter (Fashion-MNIST: level 1 = clothing, footwear, Bag; level 2 = tops, Trouser,
Dress, Sandal, Sneaker, Ankle boot, Bag). A cue names one node of a level.

Attention-aware training (:class:`CueTraining`, off unless ``cue_fraction`` > 0): in every training
batch a ``cue_fraction`` of the samples get a cue. Its level is drawn uniformly from the levels above the
classes (1 .. depth - 1; level 1 for a flat tree); the cued node is the sample's own node at that level
with probability ``cue_reliability``, else another node of the level drawn uniformly. The cued node's gain
is drawn uniformly from [``cue_gain_min``, ``cue_gain_max``]; with probability ``cue_inhibit`` the other
nodes of that level get the inverse gain (inhibition). Every other gain is 1.
"""

from dataclasses import dataclass

import torch

from condnet.data.hierarchy import Group, Hierarchy
from condnet.errors import CondnetError, ConfigError
from condnet.options import ModelOptions, option


@dataclass(frozen=True)
class CueTraining(ModelOptions):
    """Settings of attention-aware training (options of every HNN)."""

    cue_fraction: float = option(0.0, at_least=0, at_most=1,
                                 doc="share of each training batch that gets a cue (0: off)")
    cue_reliability: float = option(0.8, at_least=0, at_most=1, doc="probability that a cue is right")
    cue_gain_min: float = option(1.5, above=0, doc="a cue's gain is drawn from [cue_gain_min, cue_gain_max]")
    cue_gain_max: float = option(4.0, above=0)
    cue_inhibit: float = option(0.5, at_least=0, at_most=1,
                                doc="probability that a cue also inhibits the level's other nodes")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cue_gain_min > self.cue_gain_max:
            raise ConfigError(f"model.cue_gain_min must be <= cue_gain_max, got {self.cue_gain_min} and "
                              f"{self.cue_gain_max}")


def class_paths(hierarchy: Hierarchy) -> list[list[str]]:
    """Each class's node names from level 1 down to the class itself."""
    paths: list[list[str]] = [[] for _ in hierarchy.class_names]

    def walk(group: Group, above: list[str]) -> None:
        for child in group.children:
            if isinstance(child, Group):
                walk(child, [*above, child.name])
            else:
                paths[child] = [*above, hierarchy.class_names[child]]

    walk(hierarchy.root, [])
    return paths


def level_nodes(hierarchy: Hierarchy, level: int) -> tuple[list[str], torch.Tensor]:
    """The nodes of ``level`` and, per class, the index of its node among them."""
    depth = hierarchy.depth()
    if not 1 <= level <= depth:
        raise CondnetError(f"level must be in 1..{depth} (the depth of the class tree), got {level}")
    own = [path[min(level, len(path)) - 1] for path in class_paths(hierarchy)]
    nodes = list(dict.fromkeys(own))
    return nodes, torch.tensor([nodes.index(n) for n in own])


def cue_levels(hierarchy: Hierarchy) -> list[int]:
    """The levels a training cue may name: those above the classes (level 1 for a flat tree)."""
    return list(range(1, max(2, hierarchy.depth())))


def level_gains(nodes: list[str], cued: torch.Tensor, gain: torch.Tensor, inhibit: torch.Tensor,
                active: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-sample gains of a level's nodes: ``gain`` on the ``cued`` node, its inverse on the others where
    ``inhibit``, 1 elsewhere and wherever ``active`` is false."""
    gains = {}
    for j, name in enumerate(nodes):
        value = torch.where(cued == j, gain, torch.where(inhibit, 1.0 / gain, torch.ones_like(gain)))
        gains[name] = torch.where(active, value, torch.ones_like(gain))
    return gains


def training_gains(hierarchy: Hierarchy, cues: CueTraining, labels: torch.Tensor,
                   generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """One training batch's per-sample gains (see the module docstring); ``{}`` when cues are off."""
    if cues.cue_fraction <= 0:
        return {}
    n, device = len(labels), labels.device

    def draw(size: int) -> torch.Tensor:
        return torch.rand(size, generator=generator).to(device)

    levels = cue_levels(hierarchy)
    cued_rows = torch.zeros(n, dtype=torch.bool)
    cued_rows[torch.randperm(n, generator=generator)[: round(n * cues.cue_fraction)]] = True
    cued_rows = cued_rows.to(device)
    level_of = torch.tensor(levels)[torch.randint(len(levels), (n,), generator=generator)].to(device)
    gain = cues.cue_gain_min + (cues.cue_gain_max - cues.cue_gain_min) * draw(n)
    inhibit = draw(n) < cues.cue_inhibit
    right = draw(n) < cues.cue_reliability
    gains: dict[str, torch.Tensor] = {}
    for level in levels:
        nodes, table = level_nodes(hierarchy, level)
        truth = table.to(device)[labels]
        other = (truth + 1 + torch.randint(max(len(nodes) - 1, 1), (n,), generator=generator).to(device)) \
            % len(nodes)
        cued = torch.where(right | (len(nodes) == 1), truth, other)
        for name, value in level_gains(nodes, cued, gain, inhibit, cued_rows & (level_of == level)).items():
            gains[name] = gains[name] * value if name in gains else value
    return gains
