"""An HNN for inference with its siblings fused: fewer, larger kernels, the same logits.

An HNN runs one narrow segment per node, one after another: 20 segments for the 10 Fashion-MNIST
classes where the backbone has 4 stages, each a handful of small kernels. :class:`FusedHNN` plans each
tree level once, from the model's structure (:mod:`condnet.deploy.siblings`):

- the segments of a level that share a module structure run as one module, whatever their widths; a
  parent's output is read once by all its children;
- three plans per level are timed at batch ``MEASURE_BATCH`` on the model's features (the whole level
  fused, only segments of equal width fused, one by one); the one with the fewest steps within
  ``SLOWER_BY`` of the network's time of the fastest is kept;
- all class heads: one matrix product over the pooled features of every class.

Every fused step is checked when it is planned, on the model's own features for a random input, against
the segments it replaces (relative difference <= 1e-4); a step that fails the check, or that no rule
covers, runs its segments one by one. The fused kernels add the same products in another order, so the
logits agree with the HNN's to float rounding (within 1e-5 in tests), not bit for bit (docs/hnn.md).
"""

import statistics
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from condnet.deploy.siblings import NotFusable, fuse_members
from condnet.errors import CondnetError
from condnet.models.hnn import HNN
from condnet.models.hnn.plan import Segment

Stored = tuple[torch.Tensor, int, int]  # a packed tensor, and the node's channel offset and count in it
RELATIVE_TOLERANCE = 1e-4
MEASURE_BATCH = 64  # a level is fused unless, at this batch size, that adds more than
SLOWER_BY = 0.03  # this fraction of the whole network's time (fusion's gain is largest at batch 1)


def _gather(store: dict[str, Stored], nodes: Sequence[str],
            reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """The nodes' features concatenated along dimension 1, narrowing packed tensors without copying where
    the nodes are adjacent in them."""
    pieces: list[list] = []
    for node in nodes:
        tensor, offset, size = store[node]
        last = pieces[-1] if pieces else None
        if last is not None and last[0] is tensor and last[1] + last[2] == offset:
            last[2] += size
        else:
            pieces.append([tensor, offset, size])
    parts = [t if (o, s) == (0, t.shape[1]) else t.narrow(1, o, s) for t, o, s in pieces]
    if reduce is not None:
        parts = [reduce(p) for p in parts]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _pooled(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=(2, 3)) if x.ndim == 4 else x


class FusedStep(nn.Module):
    """Segments run as one module: ``module`` reads the ``inputs`` nodes' features concatenated, and its
    output holds the ``outputs`` nodes' features, ``sizes`` channels each, in order."""

    def __init__(self, inputs: list[str], outputs: list[str], sizes: list[int], module: nn.Module) -> None:
        super().__init__()
        self.inputs, self.outputs, self.sizes = inputs, outputs, sizes
        self.module = module

    def forward(self, store: dict[str, Stored]) -> None:
        y = self.module(_gather(store, self.inputs))
        offset = 0
        for node, size in zip(self.outputs, self.sizes, strict=True):
            store[node] = (y, offset, size)
            offset += size


class FusedHNN(nn.Module):
    """Inference-only HNN (or expert) with fused siblings; build it from an eval HNN without BatchNorm."""

    def __init__(self, hnn: HNN, measure: bool = True, block_diagonal: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.output_classes, self.class_names = hnn.output_classes, hnn.class_names
        self.root = hnn.hierarchy.root.name
        self.trunk = hnn.trunk
        spec = hnn.spec
        shape = (MEASURE_BATCH if measure else 2, spec.in_channels, spec.input_size, spec.input_size)
        example = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            seen = _segment_io(hnn, example)
            whole = _median_seconds(lambda: _segment_io(hnn, example))[0] if measure else 0.0
            steps: list[FusedStep] = []
            for level in sorted({s.level for s in hnn.segments}):
                segs = [s for s in hnn.segments if s.level == level]
                plans = [_plan_level(hnn, segs, seen, by_width) for by_width in (False, True)]
                if not block_diagonal and _runs_block_diagonal(plans[0]):
                    plans = plans[1:]
                plans.append(_one_by_one(hnn, segs, seen))
                steps += _chosen(plans, segs, seen, SLOWER_BY * whole) if measure else plans[0]
        self.steps = nn.ModuleList(steps)
        self.plan = [{"inputs": s.inputs, "outputs": s.outputs} for s in steps]
        leaves = [hnn.hierarchy.class_names[c] for c in self.output_classes]
        final = {s.node: seen[s.key][1] for s in hnn.segments} | {self.root: seen["root"][1]}
        widths = [_pooled(final[node]).shape[1] for node in leaves]
        weight = torch.zeros(len(leaves), sum(widths))
        offset = 0
        for row, (c, width) in enumerate(zip(self.output_classes, widths, strict=True)):
            weight[row, offset:offset + width] = hnn.heads[f"c{c}"].weight.detach()[0]
            offset += width
        self.leaves = leaves
        self.register_buffer("head_weight", weight)
        self.register_buffer("head_bias", torch.cat([hnn.heads[f"c{c}"].bias.detach()
                                                     for c in self.output_classes]))
        self.train(False)

    def train(self, mode: bool = True) -> "FusedHNN":
        if mode:
            raise CondnetError("a fused HNN is for inference only; train the HNN it was made from")
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trunk = self.trunk(x)
        store: dict[str, Stored] = {self.root: (trunk, 0, trunk.shape[1])}
        for step in self.steps:
            step(store)
        return nn.functional.linear(_gather(store, self.leaves, _pooled), self.head_weight, self.head_bias)


def _segment_io(hnn: HNN, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Each segment's input and output (and the trunk's under "root") for ``x``."""
    features = {hnn.hierarchy.root.name: hnn.trunk(x)}
    seen = {"root": (x, features[hnn.hierarchy.root.name])}
    for seg in hnn.segments:
        source = features[seg.source]
        features[seg.node] = hnn.blocks[seg.key](source)
        seen[seg.key] = (source, features[seg.node])
    return seen


def _structure(module: nn.Module) -> tuple:
    """The module tree's names and types: segments that share it may fuse whatever their widths."""
    return tuple((name, type(m)) for name, m in module.named_modules())


def _input_store(segs: Sequence[Segment], seen: dict) -> dict[str, Stored]:
    """The recorded inputs of ``segs``, stored as a fused step reads them."""
    return {seg.source: (seen[seg.key][0], 0, seen[seg.key][0].shape[1]) for seg in segs}


def _checked(step: FusedStep, segs: Sequence[Segment], seen: dict) -> FusedStep:
    """``step`` if it reproduces its segments' outputs, else :class:`NotFusable`."""
    store = _input_store(segs, seen)
    try:
        step(store)
    except (NotFusable, RuntimeError) as exc:
        raise NotFusable(str(exc)) from None
    for seg in segs:
        tensor, offset, size = store[seg.node]
        want = seen[seg.key][1]
        got = tensor.narrow(1, offset, size)
        limit = RELATIVE_TOLERANCE * max(1.0, float(want.abs().max()))
        if got.shape != want.shape or float((got - want).abs().max()) > limit:
            raise NotFusable(f"fused {seg.node} differs from its segment")
    return step


def _fused_step(hnn: HNN, segs: list[Segment], seen: dict, shared: bool) -> FusedStep:
    """``segs`` as one step; with ``shared``, segments under one parent read its output once."""
    sources = list(dict.fromkeys(s.source for s in segs)) if shared else [s.source for s in segs]
    mapping = [sources.index(s.source) for s in segs] if shared else list(range(len(segs)))
    module = fuse_members([hnn.blocks[s.key] for s in segs], mapping)
    sizes = [seen[s.key][1].shape[1] for s in segs]
    return _checked(FusedStep(sources, [s.node for s in segs], sizes, module), segs, seen)


def _plan_level(hnn: HNN, segs: list[Segment], seen: dict, by_width: bool = False) -> list[FusedStep]:
    """One step per set of segments of one structure (and, ``by_width``, one output width: no block-diagonal
    weights): parents' outputs read once where that checks out, else each segment's input of its own (a
    residual block adding its input needs that), else one by one."""
    groups: dict[tuple, list[Segment]] = {}
    for seg in segs:
        width = seen[seg.key][1].shape[1] if by_width else None
        groups.setdefault((_structure(hnn.blocks[seg.key]), width), []).append(seg)
    steps = []
    for members in groups.values():
        for shared in (True, False) if len(members) > 1 else ():
            try:
                steps.append(_fused_step(hnn, members, seen, shared))
                break
            except NotFusable:
                continue
        else:
            steps += _one_by_one(hnn, members, seen)
    return steps


def _runs_block_diagonal(plan: list[FusedStep]) -> bool:
    """Whether a plan's check ran a block-diagonal weight (siblings of different widths in one kernel)."""
    return any(getattr(m, "ran_block_diagonal", False) for step in plan for m in step.modules())


def _one_by_one(hnn: HNN, segs: list[Segment], seen: dict) -> list[FusedStep]:
    return [FusedStep([s.source], [s.node], [seen[s.key][1].shape[1]], hnn.blocks[s.key]) for s in segs]


def _median_seconds(*calls: Callable[[], object], rounds: int = 7) -> list[float]:
    """Median seconds of each call, the calls taking turns (after one warm-up round)."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds + 1):
        for call, spent in zip(calls, times, strict=True):
            tic = time.perf_counter()
            call()
            spent.append(time.perf_counter() - tic)
    return [statistics.median(spent[1:]) for spent in times]


def _chosen(plans: list[list[FusedStep]], segs: list[Segment], seen: dict, slack: float) -> list[FusedStep]:
    """Of a level's plans, the one with the fewest steps among those within ``slack`` seconds of the
    fastest, timed interleaved on the recorded features."""
    distinct = list({tuple(tuple(step.outputs) for step in plan): plan for plan in plans}.values())
    if len(distinct) == 1:
        return distinct[0]
    store = _input_store(segs, seen)

    def runner(plan: list[FusedStep]) -> Callable[[], None]:
        def run() -> None:
            for step in plan:
                step(dict(store))
        return run

    times = _median_seconds(*(runner(plan) for plan in distinct))
    fast = [plan for plan, spent in zip(distinct, times, strict=True) if spent <= min(times) + slack]
    return min(fast, key=len)
