"""Parameter counts."""

from torch import nn


def count_params(module: nn.Module) -> int:
    """All parameters of the module as it exists (shared tensors counted once)."""
    return sum(p.numel() for p in module.parameters())
