"""Parameters and MACs per sample of every node of a hierarchical network, as a tree.

A node's figures are those of its own segments (and, for a class, its 1-logit head); the root's are the
shared trunk's. Summed over the tree they give the whole network's figures.
"""

from typing import Any

import torch

from condnet.cost import measure_macs
from condnet.data.hierarchy import Group
from condnet.models.hnn import HNN
from condnet.train.objective import model_device


def node_cost_tree(model: HNN) -> dict[str, Any]:
    """The hierarchy of ``model`` as nested dicts: name, params, macs (per sample), children."""
    spec = model.spec
    example = torch.zeros(2, spec.in_channels, spec.input_size, spec.input_size, device=model_device(model))
    count = measure_macs(model.eval(), example)
    modules = {"root": ["trunk"]}
    for seg in model.segments:
        modules.setdefault(seg.node, []).append(f"blocks.{seg.key}")
    for c in model.output_classes:
        modules.setdefault(model.hierarchy.class_names[c], []).append(f"heads.c{c}")

    def cost(node: str) -> dict[str, Any]:
        names = modules.get(node, [])
        params = sum(p.numel() for n in names for p in model.get_submodule(n).parameters())
        return {"name": node, "params": params, "macs": sum(count.inclusive(n) for n in names) / count.batch}

    def build(group: Group, name: str) -> dict[str, Any] | None:
        children = []
        for child in group.children:
            if isinstance(child, Group):
                sub = build(child, child.name)
            else:
                sub = cost(model.hierarchy.class_names[child]) if child in model.output_classes else None
            if sub is not None:
                children.append(sub)
        return {**cost(name), "children": children} if children else None

    return build(model.hierarchy.root, "root") or cost("root")
