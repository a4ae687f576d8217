"""Where every part of a hierarchical network comes from: the segment plan.

The backbone's first ``split`` stages are the shared trunk. The remaining stages are distributed over
the levels 1..D of the tree (D = depth of the deepest class; ``numpy.array_split`` order, so earlier
levels take the extra stage when they do not divide evenly; a level may get none). Every node below the
root owns one segment at its own level: a copy of that level's stages narrowed to the node's width, fed
by its parent's output. A class leaf above the deepest level also owns the segments of every deeper
level (fed by itself), so that every class path runs through all backbone stages.
"""

import math
from dataclasses import dataclass

import numpy as np

from condnet.data.hierarchy import Group, Hierarchy, leaves
from condnet.errors import CondnetError

WIDTH_RULES = ("share", "sqrt_share")


@dataclass(frozen=True)
class Segment:
    """One narrowed copy of a level's stages, owned by ``node`` and fed by ``source``'s output."""

    key: str
    node: str
    source: str
    level: int
    stages: tuple[int, ...]
    scale: float
    last: bool  # the node's last segment: its gain applies to this output


def node_scale(share: float, rule: str, floor: float) -> float:
    """Width scale of a node holding ``share`` of the classes: the rule's scale, at least ``floor``."""
    if rule not in WIDTH_RULES:
        raise CondnetError(f"width_rule must be one of {', '.join(WIDTH_RULES)}, got {rule!r}")
    if not 0 < floor <= 1:
        raise CondnetError(f"width_floor must be in (0, 1], got {floor}")
    return max(floor, share if rule == "share" else math.sqrt(share))


def level_stages(num_stages: int, split: int, depth: int) -> list[tuple[int, ...]]:
    """The backbone stage indices of each tree level 1..depth."""
    if not 0 <= split < num_stages:
        raise CondnetError(f"split must be in 0..{num_stages - 1} (the backbone has {num_stages} stages and "
                           f"needs at least one for the branches), got {split}")
    return [tuple(int(i) for i in chunk) for chunk in np.array_split(np.arange(split, num_stages), depth)]


def plan_segments(hierarchy: Hierarchy, num_stages: int, split: int, rule: str, floor: float,
                  kept: set[int] | None = None) -> list[Segment]:
    """The segments of the network (only those on paths to ``kept`` classes when given), level by level."""
    depth = hierarchy.depth()
    chunks = level_stages(num_stages, split, depth)
    segments: list[Segment] = []
    node_id = 0
    queue: list[tuple[Group | int, str, int]] = [(c, hierarchy.root.name, 1) for c in hierarchy.root.children]
    while queue:
        child, parent, level = queue.pop(0)
        classes = [child] if isinstance(child, int) else leaves(child)
        name = hierarchy.class_names[child] if isinstance(child, int) else child.name
        scale = node_scale(len(classes) / hierarchy.num_classes, rule, floor)
        if kept is None or kept.intersection(classes):
            last_level = level if isinstance(child, Group) else depth
            for lv in range(level, last_level + 1):
                segments.append(Segment(f"n{node_id}_l{lv}", name, parent if lv == level else name, lv,
                                        chunks[lv - 1], scale, lv == last_level))
        node_id += 1
        if isinstance(child, Group):
            queue += [(c, child.name, level + 1) for c in child.children]
    return sorted(segments, key=lambda s: s.level)
