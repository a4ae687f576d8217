"""Cost figures of a model over an evaluation split (the same for every sample unless it is routed)."""

from typing import Any

import torch
from torch import nn

from condnet.cost import RoutedCost, count_macs, sample_macs, summarize_macs
from condnet.data import Batcher
from condnet.train.objective import model_device


def model_macs(model: nn.Module, images: torch.Tensor) -> dict[str, float]:
    """Mean, min and max MACs per sample of ``model`` (eval mode) on ``images`` (the same for every sample
    unless the model is routed; then also their histogram)."""
    was_training = model.training
    model.eval()
    try:
        if isinstance(model, RoutedCost):
            return summarize_macs(sample_macs(model, images.to(model_device(model))))
        macs = float(count_macs(model, images[:1].to(model_device(model))))
        return {"mean": macs, "min": macs, "max": macs}
    finally:
        model.train(was_training)


def cost_summary(model: nn.Module, batches: Batcher, device: torch.device | None = None) -> dict[str, Any]:
    """``macs_per_sample`` (mean) and, for routed models, ``macs`` (mean, min, max, histogram) over the
    split."""
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
