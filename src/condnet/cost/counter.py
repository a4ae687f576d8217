"""The MAC accountant: multiply-accumulates of what actually executes.

Convention (design.md): MACs of convolutions, linear layers and matrix products that ran, padding
positions included; BatchNorm, activations, pooling, element-wise ops and indexing are not counted.
That is exactly half of what ``torch.utils.flop_counter.FlopCounterMode`` reports for the same run.

Counting is done at the torch-function level (the functional calls that ``nn.Conv2d``, ``nn.Linear``,
``torch.matmul``... make), with formulas written here from the output shape; FlopCounterMode counts at
the ATen level with its own formulas, so comparing the two (``flop_counter_macs``) is a real cross-check.
A hand-written counter is needed because FlopCounterMode attributes FLOPs to module names only as nested
totals and cannot be told what each sample of a routed batch executed.
"""

from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from math import prod
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from condnet.errors import CondnetError


def _conv_macs(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    weight = args[1] if len(args) > 1 else kwargs["weight"]
    return out.numel() * prod(weight.shape[1:])


def _conv_transpose_macs(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    x, weight = args[0], args[1] if len(args) > 1 else kwargs["weight"]
    return x.numel() * prod(weight.shape[1:])


def _linear_macs(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    weight = args[1] if len(args) > 1 else kwargs["weight"]
    return out.numel() * weight.shape[-1]


def _matmul_macs(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    return out.numel() * args[0].shape[-1]


def _addmm_macs(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    return out.numel() * args[1].shape[-1]


_F = nn.functional
_RULES: dict[Callable, Callable[[tuple, dict, torch.Tensor], int]] = {
    _F.conv1d: _conv_macs, _F.conv2d: _conv_macs, _F.conv3d: _conv_macs,
    _F.conv_transpose1d: _conv_transpose_macs, _F.conv_transpose2d: _conv_transpose_macs,
    _F.conv_transpose3d: _conv_transpose_macs,
    _F.linear: _linear_macs,
    torch.matmul: _matmul_macs, torch.Tensor.matmul: _matmul_macs, torch.Tensor.__matmul__: _matmul_macs,
    torch.mm: _matmul_macs, torch.Tensor.mm: _matmul_macs, torch.bmm: _matmul_macs, torch.Tensor.bmm: _matmul_macs,
    torch.mv: _matmul_macs, torch.Tensor.mv: _matmul_macs, torch.dot: _matmul_macs,
    torch.addmm: _addmm_macs, torch.Tensor.addmm: _addmm_macs, torch.baddbmm: _addmm_macs,
    torch.Tensor.baddbmm: _addmm_macs,
}


@dataclass
class MacCount:
    """MACs of one run: the total, the MACs each module ran itself (by qualified name) and the batch size."""

    total: int = 0
    by_module: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    batch: int = 1

    @property
    def per_sample(self) -> float:
        return self.total / self.batch

    def inclusive(self, name: str) -> int:
        """MACs of module ``name`` and everything below it (``""`` is the whole model)."""
        if not name:
            return self.total
        return sum(v for k, v in self.by_module.items() if k == name or k.startswith(name + "."))


class _MacMode(TorchFunctionMode):
    def __init__(self, count: MacCount, stack: list[str]) -> None:
        super().__init__()
        self.count, self.stack = count, stack

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        rule = _RULES.get(func)
        if rule is not None:
            macs = rule(args, kwargs, out)
            self.count.total += macs
            self.count.by_module[self.stack[-1] if self.stack else ""] += macs
        return out


@contextmanager
def counting_macs(model: nn.Module, batch: int = 1):
    """Context manager yielding a :class:`MacCount` that fills while ``model`` (or anything) runs inside."""
    count = MacCount(batch=batch)
    names = {id(m): name for name, m in model.named_modules()}
    stack: list[str] = []

    def push(module: nn.Module, _args: Any) -> None:
        stack.append(names.get(id(module), ""))

    def pop(module: nn.Module, _args: Any, _out: Any) -> None:
        stack.pop()

    pre = nn.modules.module.register_module_forward_pre_hook(push)
    post = nn.modules.module.register_module_forward_hook(pop)
    try:
        with _MacMode(count, stack):
            yield count
    finally:
        pre.remove()
        post.remove()


def _batch_size(example_input: Any) -> int:
    if isinstance(example_input, torch.Tensor):
        return example_input.shape[0]
    raise CondnetError("example_input must be a batched tensor [N, ...]")


def measure_macs(model: nn.Module, example_input: torch.Tensor, **forward_kwargs: Any) -> MacCount:
    """Run ``model(example_input, **forward_kwargs)`` under no_grad and count its MACs."""
    with torch.no_grad(), counting_macs(model, _batch_size(example_input)) as count:
        model(example_input, **forward_kwargs)
    return count


def count_macs(model: nn.Module, example_input: torch.Tensor, **forward_kwargs: Any) -> int:
    """Per-sample MACs of one forward pass (the batch may hold several samples).

    For models whose samples execute different amounts (routed models), use
    :func:`condnet.cost.sample_macs`, which gives each sample's MACs.
    """
    count = measure_macs(model, example_input, **forward_kwargs)
    if count.total % count.batch:
        raise CondnetError("samples of this batch executed different MACs (a routed model); "
                           "use condnet.cost.sample_macs for per-sample figures")
    return count.total // count.batch


def flop_counter_macs(model: nn.Module, example_input: torch.Tensor, **forward_kwargs: Any) -> float:
    """Per-sample MACs by PyTorch's own FlopCounterMode (its FLOPs / 2 / batch), for cross-checks."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example_input, **forward_kwargs)
    return counter.get_total_flops() / 2 / _batch_size(example_input)
