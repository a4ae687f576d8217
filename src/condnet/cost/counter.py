"""The MAC accountant: multiply-accumulates of what actually executes.

Convention (design.md): MACs of convolutions, linear layers and matrix products that ran, padding
positions included; BatchNorm, activations, pooling, element-wise ops and indexing are not counted.
That is exactly half of what ``torch.utils.flop_counter.FlopCounterMode`` reports for the same run.

Counting is done at the torch-function level (the functional calls that ``nn.Conv2d``, ``nn.Linear``,
``torch.matmul``... make), with the formulas of ``rules`` (from the output shape); FlopCounterMode counts at
the ATen level with its own formulas, so comparing the two (``flop_counter_macs``) is a real cross-check.
A hand-written counter is needed because FlopCounterMode attributes FLOPs to module names only as nested
totals and cannot be told what each sample of a routed batch executed. Ops that ran with no rule and are
not ignored by convention (``ignored``) are reported as unsupported, as fvcore's ``unsupported_ops`` does.
"""

import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from condnet.cost.ignored import is_ignored
from condnet.cost.rules import MacRule, Op, active_rules, op_name
from condnet.errors import CondnetError, UnsupportedOpsError

Rules = Mapping[Op, MacRule] | None


def describe_ops(ops: Mapping[str, int]) -> str:
    """``torch.einsum (2 calls), aten.foo (1 call)``, or ``none``."""
    return ", ".join(f"{name} ({n} call{'s' * (n != 1)})" for name, n in sorted(ops.items())) or "none"


@dataclass
class MacCount:
    """MACs of one run: the total, the MACs each module ran itself (by qualified name), the batch size and
    the unsupported ops (name -> calls): ops that ran with no MAC rule and are not ignored by convention."""

    total: int = 0
    by_module: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    batch: int = 1
    unsupported_ops: Counter[str] = field(default_factory=Counter)

    @property
    def per_sample(self) -> float:
        return self.total / self.batch

    def inclusive(self, name: str) -> int:
        """MACs of module ``name`` and everything below it (``""`` is the whole model)."""
        if not name:
            return self.total
        return sum(v for k, v in self.by_module.items() if k == name or k.startswith(name + "."))

    def check_supported(self) -> None:
        """Raise :class:`UnsupportedOpsError` if any op ran that has no MAC rule and is not ignored."""
        if self.unsupported_ops:
            raise UnsupportedOpsError(f"ops without a MAC rule ran and were not counted: "
                                      f"{describe_ops(self.unsupported_ops)}; add a rule with condnet.cost."
                                      "register_mac_rule(op, rule) (docs/cost.md, Adding a MAC rule)")


class _MacMode(TorchFunctionMode):
    def __init__(self, count: MacCount, stack: list[str], rules: dict[str, MacRule]) -> None:
        super().__init__()
        self.count, self.stack, self.rules = count, stack, rules

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = op_name(func)
        rule = self.rules.get(name)
        if rule is not None:
            macs = rule(args, kwargs, out)
            self.count.total += macs
            self.count.by_module[self.stack[-1] if self.stack else ""] += macs
        elif not is_ignored(name):
            self.count.unsupported_ops[name] += 1
        return out


@contextmanager
def counting_macs(model: nn.Module, batch: int = 1, rules: Rules = None):
    """Context manager yielding a :class:`MacCount` that fills while ``model`` (or anything) runs inside;
    ``rules`` (op -> MAC rule) add to or override the registered ones for this count only."""
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
        with _MacMode(count, stack, active_rules(rules)):
            yield count
    finally:
        pre.remove()
        post.remove()


def _batch_size(example_input: Any) -> int:
    if isinstance(example_input, torch.Tensor):
        return example_input.shape[0]
    raise CondnetError("example_input must be a batched tensor [N, ...]")


def measure_macs(model: nn.Module, example_input: torch.Tensor, *, rules: Rules = None, strict: bool = False,
                 **forward_kwargs: Any) -> MacCount:
    """Run ``model(example_input, **forward_kwargs)`` under no_grad and count its MACs (``rules`` as for
    :func:`counting_macs`); ``strict`` raises :class:`UnsupportedOpsError` if unsupported ops ran."""
    with torch.no_grad(), counting_macs(model, _batch_size(example_input), rules) as count:
        model(example_input, **forward_kwargs)
    if strict:
        count.check_supported()
    return count


def count_macs(model: nn.Module, example_input: torch.Tensor, *, rules: Rules = None, strict: bool = False,
               **forward_kwargs: Any) -> int:
    """Per-sample MACs of one forward pass (the batch may hold several samples).

    Unsupported ops (see :class:`MacCount`) raise :class:`UnsupportedOpsError` if ``strict``, else give a
    warning. For models whose samples execute different amounts (routed models), use
    :func:`condnet.cost.sample_macs`, which gives each sample's MACs.
    """
    count = measure_macs(model, example_input, rules=rules, strict=strict, **forward_kwargs)
    if count.unsupported_ops:
        warnings.warn(f"not counted (no MAC rule): {describe_ops(count.unsupported_ops)}", stacklevel=2)
    if count.total % count.batch:
        raise CondnetError("samples of this batch executed different MACs (a routed model); "
                           "use condnet.cost.sample_macs for per-sample figures")
    return count.total // count.batch


def flop_counter_macs(model: nn.Module, example_input: torch.Tensor, **forward_kwargs: Any) -> float:
    """Per-sample MACs by PyTorch's own FlopCounterMode (its FLOPs / 2 / batch), for cross-checks."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example_input, **forward_kwargs)
    return counter.get_total_flops() / 2 / _batch_size(example_input)
