"""Cost figures of a model over an evaluation split (the same for every sample unless it is routed)."""

from typing import Any

import torch
from torch import nn

from condnet.cost import RoutedCost, count_macs, sample_macs, summarize_macs
from condnet.data import Batcher
from condnet.train.objective import model_device


def cost_summary(model: nn.Module, batches: Batcher, device: torch.device | None = None) -> dict[str, Any]:
    """``macs_per_sample`` (mean) and, for routed models, ``macs`` (mean, min, max, histogram) over the split."""
    device = device or model_device(model)
    was_training = model.training
    model.eval()
    if isinstance(model, RoutedCost):
        per_sample = torch.cat([sample_macs(model, x.to(device)) for x, _ in batches.epoch()])
        stats = summarize_macs(per_sample)
        result = {"macs_per_sample": stats["mean"], "macs": stats}
    else:
        x, _ = next(iter(batches.epoch()))
        result = {"macs_per_sample": count_macs(model, x[:1].to(device))}
    model.train(was_training)
    return result
