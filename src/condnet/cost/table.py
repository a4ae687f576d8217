"""The static cost table of a model: one row per module with its parameters and MACs per sample."""

from dataclasses import asdict, dataclass

import torch
from torch import nn

from condnet.cost.counter import MacCount, measure_macs


@dataclass(frozen=True)
class CostRow:
    """One module: qualified name, type, parameters (own and children's) and MACs per sample."""

    name: str
    type: str
    params: int
    macs: float

    def as_dict(self) -> dict:
        return asdict(self)


def cost_table(model: nn.Module, example_input: torch.Tensor, max_depth: int = 2) -> list[CostRow]:
    """Rows for every module up to ``max_depth`` levels below the root (root is ``""``)."""
    return cost_rows(model, measure_macs(model, example_input), max_depth)


def cost_rows(model: nn.Module, count: MacCount, max_depth: int = 2) -> list[CostRow]:
    """The rows of :func:`cost_table` from a count of ``model`` already made."""
    rows = []
    for name, module in model.named_modules():
        depth = 0 if not name else name.count(".") + 1
        if depth > max_depth:
            continue
        rows.append(CostRow(name or "(total)", type(module).__name__,
                            sum(p.numel() for p in module.parameters()),
                            count.inclusive(name) / count.batch))
    return rows


def format_table(rows: list[CostRow]) -> str:
    """The table as aligned text."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'module':<{width}}  {'type':<20} {'params':>12} {'MACs/sample':>16}"]
    lines += [f"{r.name:<{width}}  {r.type:<20} {r.params:>12,} {r.macs:>16,.0f}" for r in rows]
    return "\n".join(lines)
