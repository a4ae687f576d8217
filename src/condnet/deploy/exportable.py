"""The copy of a model that is exported: eval mode, no BatchNorm left.

Why: a routed model (CIGT) runs each block on the samples routed to it, a sub-batch whose size is only
known at run time and may be 0. Eval-mode BatchNorm's kernel checks ``numel == 0``, which torch.export
cannot decide for such a size ("Could not guard on data-dependent expression"): the export fails, or
(CIGTNet under tracing) pays a placeholder sample per block to keep the input non-empty. Without
BatchNorm neither happens, and the exported graph is also smaller and faster.

:func:`exportable_copy` folds every eval BatchNorm into the Conv/Linear that directly produces its input
(``torch.nn.utils.fusion``), and replaces any other BatchNorm by :class:`ChannelAffine`, the same
per-channel ``x * scale + shift``. Both compute eval BatchNorm's function exactly; only float rounding
differs (logits within about 1e-7 of the original on every registered model; tested at 1e-5). A Linear
followed by BatchNorm1d is folded as for ``[N, features]`` inputs, the only form in condnet's models.
"""

import copy

import torch
from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from condnet.errors import CondnetError

# BatchNorm type -> the layer types it can be folded into
_PRODUCERS = {nn.BatchNorm1d: (nn.Conv1d, nn.Linear), nn.BatchNorm2d: (nn.Conv2d,),
              nn.BatchNorm3d: (nn.Conv3d,)}


class ChannelAffine(nn.Module):
    """Eval BatchNorm as a per-channel affine map of dimension 1: ``x * scale + shift``."""

    def __init__(self, bn: _BatchNorm) -> None:
        super().__init__()
        if bn.running_mean is None or bn.running_var is None:
            raise CondnetError(f"{bn} has no running statistics (track_running_stats=False): in eval mode it "
                               "normalises with each batch's statistics, which no export can reproduce")
        scale = torch.rsqrt(bn.running_var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight
        shift = -bn.running_mean * scale
        if bn.bias is not None:
            shift = shift + bn.bias
        self.register_buffer("scale", scale.detach().clone())
        self.register_buffer("shift", shift.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (x.dim() - 2)
        return x * self.scale.view(shape) + self.shift.view(shape)


def _foldable(producer: nn.Module, bn: nn.Module) -> bool:
    kinds = _PRODUCERS.get(type(bn), ())
    return (type(producer) in kinds and bn.running_mean is not None and bn.running_var is not None
            and getattr(producer, "out_channels", getattr(producer, "out_features", None)) == bn.num_features)


def _fused(producer: nn.Module, bn: _BatchNorm) -> nn.Module:
    if isinstance(producer, nn.Linear):
        return fuse_linear_bn_eval(producer, bn)
    return fuse_conv_bn_eval(producer, bn)


class _ChildrenAsLeaves(fx.Tracer):
    """Traces one module's own forward: every submodule call is a single node."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return True


def _sequential_pairs(seq: nn.Sequential) -> list[tuple[str, str]]:
    """(producer, BatchNorm) child names where the producer's output goes straight into the BatchNorm."""
    names = list(seq._modules)
    pairs = zip(names, names[1:], strict=False)
    return [(a, b) for a, b in pairs if _foldable(seq._modules[a], seq._modules[b])]


def _traced_pairs(module: nn.Module) -> list[tuple[str, str]]:
    """The same for a module with its own forward, read from its torch.fx graph (none if untraceable)."""
    try:
        graph = _ChildrenAsLeaves().trace(module)
    except Exception:  # data-dependent Python: leave its BatchNorms to ChannelAffine
        return []
    calls = [n for n in graph.nodes if n.op == "call_module"]
    count = {t: sum(n.target == t for n in calls) for t in {n.target for n in calls}}
    pairs = []
    for node in calls:
        source = node.args[0] if len(node.args) == 1 and not node.kwargs else None
        if not isinstance(source, fx.Node) or source.op != "call_module" or len(source.users) != 1:
            continue
        if count[node.target] == count[source.target] == 1 and "." not in node.target + source.target:
            if _foldable(module.get_submodule(source.target), module.get_submodule(node.target)):
                pairs.append((source.target, node.target))
    return pairs


def _fold_batch_norms(model: nn.Module) -> None:
    """Fold every BatchNorm whose input comes straight from a Conv/Linear used nowhere else."""
    uses: dict[int, int] = {}
    for _, m in model.named_modules(remove_duplicate=False):
        uses[id(m)] = uses.get(id(m), 0) + 1
    for parent in list(model.modules()):
        if not any(isinstance(child, _BatchNorm) for child in parent.children()):
            continue
        pairs = _sequential_pairs(parent) if isinstance(parent, nn.Sequential) else _traced_pairs(parent)
        for producer_name, bn_name in pairs:
            producer, bn = parent._modules[producer_name], parent._modules[bn_name]
            if uses[id(producer)] == uses[id(bn)] == 1:
                parent._modules[producer_name] = _fused(producer, bn)
                parent._modules[bn_name] = nn.Identity()


def _replace_batch_norms(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, _BatchNorm):
            module._modules[name] = ChannelAffine(child)
        else:
            _replace_batch_norms(child)


def exportable_copy(model: nn.Module) -> nn.Module:
    """An eval-mode deep copy of ``model``, every BatchNorm folded or turned into :class:`ChannelAffine`."""
    exported = copy.deepcopy(model).eval()
    with torch.no_grad():
        _fold_batch_norms(exported)
        _replace_batch_norms(exported)
    return exported.eval()
