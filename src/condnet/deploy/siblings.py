"""Sibling fusion: several modules of one architecture run as one module with fewer, larger kernels.

Members are eval-mode modules without BatchNorm (:func:`~condnet.deploy.exportable.exportable_copy`
has folded it). Member i reads input block ``mapping[i]``; several members may read one block (siblings
under one parent). A fused layer's input is *source-aligned* (the input blocks concatenated along
dimension 1, each once) or *member-aligned* (every member's own input, concatenated in member order);
its output is member-aligned. The number of channels tells the two apart: for any mapping that shares a
block, the members' inputs have more channels than the blocks.

- Convolution: on source-aligned input, one convolution whose weight places each member's kernel at its
  block (the members' output channels concatenated). On member-aligned input, a grouped convolution
  when the members have equal widths, else one convolution with a block-diagonal weight: zeros between
  members, so more MACs than the members', in one kernel instead of several.
- Linear: the same with a block-structured weight matrix.
- Per-channel affine map (folded BatchNorm), option-A padding shortcut: their parameters concatenated;
  a source-aligned input is first copied to member alignment.
- Layers without parameters that act channel by channel (ReLU, pooling, dropout in eval, Flatten from
  dimension 1) run unchanged.
- A module with its own ``forward`` (a residual block) is copied with its children fused, and its code
  runs on the packed tensors.

:func:`fuse_members` builds the fused module. The caller verifies it against its members: nothing here
guesses whether a module's ``forward`` is channel-wise.

Why by hand: ``torch.func.vmap`` over stacked parameters batches modules of identical shapes only, and
an HNN's siblings have different widths.
"""

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from condnet.deploy.exportable import ChannelAffine
from condnet.errors import CondnetError

# Layers without parameters whose output channel j depends only on input channel j (or, for Flatten
# from dimension 1, that keep the members' blocks contiguous and in order).
CHANNELWISE = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Sigmoid, nn.Tanh, nn.Identity,
               nn.Dropout, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)


class NotFusable(CondnetError):
    """The members cannot run as one module."""


class _Packed(nn.Module):
    """A fused layer of ``len(mapping)`` members; member i reads input block ``mapping[i]``.

    Its input is *member-aligned* (each member's own input, concatenated) or, for a layer that reads the
    fused module's input, *source-aligned* (the input blocks concatenated, a block read by several members
    present once); the number of channels tells which.
    """

    def __init__(self, in_sizes: Sequence[int], mapping: Sequence[int]) -> None:
        super().__init__()
        blocks: dict[int, int] = {}
        consistent = True  # False for a layer inside the members: its inputs are their own
        for block, size in zip(mapping, in_sizes, strict=True):
            consistent &= blocks.setdefault(block, size) == size
        consistent &= sorted(blocks) == list(range(len(blocks)))
        self.members, self.member_total = len(mapping), sum(in_sizes)
        self.ran_block_diagonal = False
        self.identity = list(mapping) == list(range(len(mapping))) or not consistent
        self.source_total = sum(blocks.values()) if not self.identity else self.member_total
        starts = [sum(blocks[j] for j in range(b)) for b in range(len(blocks))] if consistent else []
        self.block_starts = [starts[b] for b in mapping] if not self.identity else _member_columns(in_sizes)
        self.register_buffer("expand", torch.cat([torch.arange(start, start + size) for start, size in
                                                  zip(self.block_starts, in_sizes, strict=True)]))

    def source_aligned(self, x: torch.Tensor) -> bool:
        """Whether ``x`` holds the input blocks (else it holds the members' own inputs)."""
        if x.shape[1] == self.member_total:
            return False
        if x.shape[1] == self.source_total and not self.identity:
            return True
        raise NotFusable(f"an input of {x.shape[1]} channels fits neither {self.member_total} (the members' "
                         f"inputs) nor {self.source_total} (the input blocks)")

    def member_aligned(self, x: torch.Tensor) -> torch.Tensor:
        return x.index_select(1, self.expand) if self.source_aligned(x) else x


def _block_matrix(weights: Sequence[torch.Tensor], columns: Sequence[int], total: int) -> torch.Tensor:
    """Rows of every member's weight stacked, its columns (dimension 1) placed at ``columns[i]`` of
    ``total``, zero elsewhere."""
    out = torch.zeros(sum(w.shape[0] for w in weights), total, *weights[0].shape[2:], dtype=weights[0].dtype)
    row = 0
    for w, col in zip(weights, columns, strict=True):
        out[row:row + w.shape[0], col:col + w.shape[1]] = w
        row += w.shape[0]
    return out


def _member_columns(sizes: Sequence[int]) -> list[int]:
    return [sum(sizes[:i]) for i in range(len(sizes))]


def _block_diagonal(weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """The members' weights on the diagonal of one weight over their inputs concatenated."""
    sizes = [w.shape[1] for w in weights]
    return _block_matrix(weights, _member_columns(sizes), sum(sizes))


def _joined_bias(layers: Sequence[nn.Module]) -> torch.Tensor | None:
    return None if layers[0].bias is None else torch.cat([m.bias.detach() for m in layers])


class PackedConv2d(_Packed):
    """Convolutions of one kernel, stride, padding and dilation run as one: a grouped convolution when
    the members have equal widths, else one convolution whose weight is block-diagonal (each member's
    outputs read only its own inputs, zeros elsewhere: more MACs, one kernel)."""

    def __init__(self, convs: Sequence[nn.Conv2d], mapping: Sequence[int]) -> None:
        super().__init__([c.in_channels for c in convs], mapping)
        first = convs[0]
        for conv in convs:
            if type(conv) is not nn.Conv2d or conv.padding_mode != "zeros":
                raise NotFusable(f"{conv} is not a plain zero-padded Conv2d")
            if (conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.bias is None) != (
                    first.kernel_size, first.stride, first.padding, first.dilation, first.bias is None):
                raise NotFusable(f"{conv} and {first} differ in more than their widths")
        depthwise = all(c.groups == c.in_channels == c.out_channels for c in convs)
        if not depthwise and any(c.groups != 1 for c in convs):
            raise NotFusable("grouped convolutions other than depthwise")
        self.stride, self.padding, self.dilation = first.stride, first.padding, first.dilation
        weights = [c.weight.detach() for c in convs]
        equal = len({w.shape for w in weights}) == 1
        self.register_buffer("bias", _joined_bias(convs))
        self.block_diagonal = not (depthwise or equal)
        self.groups = 1 if self.block_diagonal else sum(c.groups for c in convs)
        weight = _block_diagonal(weights) if self.block_diagonal else torch.cat(weights)
        self.register_buffer("weight", weight)
        direct = first.groups == 1 and not self.identity
        self.register_buffer("source_weight", _block_matrix(weights, self.block_starts, self.source_total)
                             if direct else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.source_weight is not None and self.source_aligned(x):
            return F.conv2d(x, self.source_weight, self.bias, self.stride, self.padding, self.dilation)
        if self.block_diagonal:
            self.ran_block_diagonal = True  # read by the planner, which may avoid such weights
        return F.conv2d(self.member_aligned(x), self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class PackedLinear(_Packed):
    """Linear layers run as one: a grouped product (a 1-wide grouped convolution) when the members have
    equal widths, else one matrix product with a block-diagonal weight."""

    def __init__(self, linears: Sequence[nn.Linear], mapping: Sequence[int]) -> None:
        super().__init__([m.in_features for m in linears], mapping)
        if any(type(m) is not nn.Linear or (m.bias is None) != (linears[0].bias is None) for m in linears):
            raise NotFusable("linear layers with and without bias")
        weights = [m.weight.detach() for m in linears]
        self.block_diagonal = len({w.shape for w in weights}) > 1
        # equal widths: [members * out, in, 1], the weight of a 1-wide grouped convolution
        weight = _block_diagonal(weights) if self.block_diagonal else torch.cat(weights).unsqueeze(-1)
        self.register_buffer("weight", weight)
        self.register_buffer("source_weight", None if self.identity else
                             _block_matrix(weights, self.block_starts, self.source_total))
        self.register_buffer("bias", _joined_bias(linears))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2:
            raise NotFusable("fused linear layers take [batch, features] inputs")
        if self.source_weight is not None and self.source_aligned(x):
            return F.linear(x, self.source_weight, self.bias)
        if self.block_diagonal:
            self.ran_block_diagonal = True
            return F.linear(x, self.weight, self.bias)
        return F.conv1d(x.unsqueeze(-1), self.weight, self.bias, groups=self.members).squeeze(-1)


class PackedAffine(_Packed):
    """Per-channel affine maps (eval BatchNorm) run as one."""

    def __init__(self, maps: Sequence[ChannelAffine], mapping: Sequence[int]) -> None:
        super().__init__([len(m.scale) for m in maps], mapping)
        self.register_buffer("scale", torch.cat([m.scale for m in maps]))
        self.register_buffer("shift", torch.cat([m.shift for m in maps]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (x.dim() - 2)
        return self.member_aligned(x) * self.scale.view(shape) + self.shift.view(shape)


class PackedPadShortcut(_Packed):
    """ResNet option-A shortcuts (subsample, then zero-pad new channels) run as one channel selection."""

    def __init__(self, shortcuts: Sequence[nn.Module], mapping: Sequence[int]) -> None:
        in_sizes = [s.in_channels for s in shortcuts]
        super().__init__(in_sizes, mapping)
        if len({s.stride for s in shortcuts}) != 1:
            raise NotFusable("padding shortcuts of different strides")
        self.stride = shortcuts[0].stride
        pick = []  # per output channel: a member-aligned input channel, or member_total for a zero
        for start, s in zip(_member_columns(in_sizes), shortcuts, strict=True):
            pick += list(range(start, start + s.in_channels)) + [self.member_total] * s.extra
        self.register_buffer("pick", torch.tensor(pick))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.member_aligned(x)[:, :, :: self.stride, :: self.stride]
        return torch.cat([x, torch.zeros_like(x[:, :1])], dim=1).index_select(1, self.pick)


def _leaf_rules() -> dict[type, type]:
    from condnet.models.resnet import PadShortcut

    return {nn.Conv2d: PackedConv2d, nn.Linear: PackedLinear, ChannelAffine: PackedAffine,
            PadShortcut: PackedPadShortcut}


def _has_own_state(module: nn.Module) -> bool:
    return bool(module._parameters) or any(b is not None for b in module._buffers.values())


def fuse_members(members: Sequence[nn.Module], mapping: Sequence[int] | None = None) -> nn.Module:
    """One module computing every member's output, packed; member i reads input block ``mapping[i]``
    (default: its own). Raises :class:`NotFusable` if it cannot."""
    mapping = list(range(len(members))) if mapping is None else list(mapping)
    first = members[0]
    kind = type(first)
    if any(type(m) is not kind for m in members):
        raise NotFusable("members of different types")
    if isinstance(first, nn.Flatten):
        if first.start_dim != 1 or first.end_dim != -1:
            raise NotFusable("a Flatten that does not start at dimension 1")
        return first
    if isinstance(first, CHANNELWISE):
        if _has_own_state(first) or any(m.extra_repr() != first.extra_repr() for m in members):
            raise NotFusable(f"{kind.__name__} layers with different settings")
        return first
    rule = _leaf_rules().get(kind)
    if rule is not None:
        return rule(members, mapping)
    if not first._modules or _has_own_state(first):
        raise NotFusable(f"no fusion rule for {kind.__name__}")
    if any(list(m._modules) != list(first._modules) for m in members):
        raise NotFusable(f"{kind.__name__} members with different children")
    fused = copy.copy(first)
    fused._modules = {name: fuse_members([m._modules[name] for m in members], mapping)
                      for name in first._modules}
    return fused
