"""Per-sample MACs: the interface routed models plug into, and summaries of the distribution.

A model whose samples execute different parts defines ``sample_macs(x) -> LongTensor[N]`` (the MACs
each sample of ``x`` executed, routers included). Every other model costs the same for all samples.
"""

from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from condnet.cost.counter import count_macs


@runtime_checkable
class RoutedCost(Protocol):
    """A model that can tell what each sample executed."""

    def sample_macs(self, x: torch.Tensor) -> torch.Tensor: ...


def sample_macs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """MACs each sample of ``x`` executed, as int64 [N]."""
    if isinstance(model, RoutedCost):
        with torch.no_grad():
            return model.sample_macs(x).to(torch.int64)
    return torch.full((len(x),), count_macs(model, x[:1]), dtype=torch.int64)


def summarize_macs(per_sample: torch.Tensor, bins: int = 10) -> dict[str, Any]:
    """Mean, min, max and a histogram of per-sample MACs."""
    values = per_sample.to(torch.float64)
    lo, hi = float(values.min()), float(values.max())
    counts = torch.histc(values, bins=bins, min=lo, max=hi if hi > lo else lo + 1)
    return {"mean": float(values.mean()), "min": int(lo), "max": int(hi),
            "histogram": {"edges": torch.linspace(lo, hi if hi > lo else lo + 1, bins + 1).tolist(),
                          "counts": [int(c) for c in counts]}}
