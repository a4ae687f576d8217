"""MAC rules: how many multiply-accumulates one call of an op performed.

A rule is ``rule(args, kwargs, out) -> int``: the positional and keyword arguments the op was called with
and what it returned. Ops are the functions the counter sees at the torch-function level (``torch.einsum``,
``F.scaled_dot_product_attention``, ``torch.Tensor.bmm``, custom ops ``torch.ops.NS.NAME``), named as
:attr:`condnet.cost.MacCount.unsupported_ops` reports them. Built-in rules cover convolutions, linear
layers and matrix products; :func:`register_mac_rule` adds or overrides one for every later count.
"""

from collections.abc import Callable, Mapping
from functools import cache
from math import prod
from typing import Any

import torch
from torch import nn
from torch.overrides import resolve_name

MacRule = Callable[[tuple, dict, Any], int]
Op = Callable | str


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


@cache
def _callable_name(func: Callable) -> str:
    func = getattr(func, "overloadpacket", func)  # torch.ops.NS.NAME.default counts as torch.ops.NS.NAME
    if getattr(torch, getattr(func, "__name__", ""), None) is func:
        return f"torch.{func.__name__}"  # torch.mm, not the alias torch.spmm
    name = resolve_name(func)
    if name is None and not hasattr(func, "__qualname__"):  # e.g. the object torch.library.custom_op returns
        raise TypeError(f"cannot name op {func!r}; pass the function torch calls, torch.ops.NS.NAME or "
                        "'NS::NAME'")
    return name or f"{func.__module__}.{func.__qualname__}"


def op_name(op: Op) -> str:
    """The name an op is reported under: ``torch.einsum``, ``torch.Tensor.bmm``, ``aten.einsum``..."""
    return op.replace("::", ".") if isinstance(op, str) else _callable_name(op)


_F = nn.functional
_BUILTIN: dict[str, MacRule] = {op_name(op): rule for ops, rule in [
    ((_F.conv1d, _F.conv2d, _F.conv3d), _conv_macs),
    ((_F.conv_transpose1d, _F.conv_transpose2d, _F.conv_transpose3d), _conv_transpose_macs),
    ((_F.linear,), _linear_macs),
    ((torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.mm, torch.Tensor.mm, torch.bmm,
      torch.Tensor.bmm, torch.mv, torch.Tensor.mv, torch.dot), _matmul_macs),
    ((torch.addmm, torch.Tensor.addmm, torch.baddbmm, torch.Tensor.baddbmm), _addmm_macs),
] for op in ops}
_REGISTERED: dict[str, MacRule] = {}


def register_mac_rule(op: Op, rule: MacRule) -> None:
    """Count ``op`` with ``rule(args, kwargs, out) -> int`` in every later count (replaces a built-in or
    earlier rule for it). ``op`` is the function itself or its name as ``unsupported_ops`` reports it;
    ``"NS::NAME"`` stands for ``torch.ops.NS.NAME``."""
    if not callable(rule):
        raise TypeError(f"a MAC rule must be callable(args, kwargs, out) -> int, got {rule!r}")
    _REGISTERED[op_name(op)] = rule


def unregister_mac_rule(op: Op) -> None:
    """Remove the rule :func:`register_mac_rule` gave ``op`` (a built-in rule it replaced applies again)."""
    if _REGISTERED.pop(op_name(op), None) is None:
        raise ValueError(f"no MAC rule was registered for {op_name(op)}")


def active_rules(overrides: Mapping[Op, MacRule] | None = None) -> dict[str, MacRule]:
    """Rules by op name: built-in, then registered, then ``overrides`` (each replacing the one before)."""
    return {**_BUILTIN, **_REGISTERED, **{op_name(op): rule for op, rule in (overrides or {}).items()}}
