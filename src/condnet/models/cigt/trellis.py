"""The CIGT trellis: layers of parallel blocks, a router after each layer, one head per leaf block.

Every sample runs exactly one block per layer. With ``execution="gather"`` (true conditional execution)
the samples routed to a block are gathered, the block runs on that sub-batch only and the results are
scattered back in order; ``execution="dense"`` runs every block on every sample and then selects, as a
reference for checking the gather mode (it saves nothing). In eval mode both give the same logits and
routes. In training mode BatchNorm differs: in gather mode a block normalises with the statistics of the
samples routed to it and updates its running statistics from them only; in dense mode every block sees,
and updates its statistics from, the whole batch. A block that receives a single training sample runs
it in eval mode (batch statistics of one sample do not exist).

Eager gather skips blocks that no sample reaches and, when every sample takes the same block, runs it on
the batch as it is. Traced in eval mode, no Python branch depends on how many samples a block gets:
under torch.export every block runs on its (possibly empty) sub-batch, so the exported graph keeps
conditional execution and is exact for any batch size and any routes; under torch.compile a gather
layer runs densely (static shapes), because Inductor on CPU (torch 2.13) mispredicts convolution
output strides for data-dependent batch sizes and its compiled code fails ``assert_size_stride``.
"""

import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise, product

import torch
from torch import nn

from condnet.cost import measure_macs
from condnet.errors import CondnetError, ConfigError
from condnet.models.cigt.loss import CLS_LOSSES, classification_loss, information_gain
from condnet.models.cigt.router import Router, router_input_features, temperature
from condnet.models.stages import Classifier, StageSpec
from condnet.options import ModelOptions, option

EVAL_ROUTE_SEED = 0  # seed of the random-routing baseline's routes in an eval-mode forward
RANDOM_NOT_TRACEABLE = ("a randomly routed trellis (routing: random) draws its eval routes from a seeded "
                        "torch.Generator on every call; random routes are not exportable or compilable: "
                        "export or compile a trained (ig-routed) CIGT, or run this one eagerly")


@dataclass(frozen=True)
class RoutingConfig(ModelOptions):
    """How a trellis routes, executes and is trained (defaults: paper B's Fashion-MNIST settings)."""

    execution: str = option("gather", choices=("gather", "dense"),
                            doc="gather: each block runs on its samples only | dense: every block on all")
    routing: str = option("ig", choices=("ig", "random"),
                          doc="ig: learned routers | random: uniformly random routes (the IG ablation)")
    cls_loss: str = option("per_leaf", choices=CLS_LOSSES)
    ig_weight: float = option(0.063, at_least=0, doc="lambda, the information-gain loss weight")
    balance: float = option(2.12, above=0, doc="beta, the weight of the route entropy")
    temperature_initial: float = option(25.0, above=0)
    temperature_decay: float = option(0.999848, above=0, at_most=1, doc="per iteration")
    temperature_min: float = option(0.01, above=0)
    warmup_epochs: int = option(25, at_least=0, doc="IG loss on, routes per warmup_routing")
    warmup_routing: str = option("random", choices=("random", "all"),
                                 doc="random: a uniformly random route | all: a copy of the sample per block")
    random_ratio: float = option(0.49, at_least=0, at_most=1,
                                 doc="after warm-up: fraction of each batch routed at random")
    random_draw: str = option("per_router", choices=("per_router", "shared"),
                              doc="per_router: each router draws its own floor(N * random_ratio) rows, as "
                                  "the authors' code does | shared: one Bernoulli mask used at every router")
    router_hidden: int = option(128, at_least=1)
    router_pool: int = option(1, at_least=1, doc="routers average-pool feature maps to pool x pool")


@dataclass(frozen=True)
class TrellisOptions(ModelOptions):
    """How many parallel blocks each layer has, and where the layers are cut."""

    path_counts: list[int] = option([1, 2, 4], at_least=1, doc="blocks per layer")
    boundaries: list[int] | None = option(None, at_least=1,
                                          doc="stage indices where layers 2.. begin; None: the family's")

    def layer_cuts(self, stage_names: Sequence[str], default_boundaries: Sequence[int] = ()) -> list[int]:
        """The stage indices where layers 2.. begin (``boundaries``, else ``default_boundaries``), checked
        against the path's stages."""
        counts = self.path_counts
        boundaries = list(self.boundaries if self.boundaries is not None else default_boundaries)
        stages = ", ".join(f"{i}={s}" for i, s in enumerate(stage_names))
        if not counts:
            raise ConfigError("model.path_counts must be a non-empty list of positive integers, e.g. "
                              "[1, 2, 4]")
        if len(boundaries) != len(counts) - 1:
            raise ConfigError(f"model.path_counts {counts} has {len(counts)} layers, so model.boundaries "
                              f"needs {len(counts) - 1} stage indices where layers begin (stages: {stages}); "
                              f"got {boundaries}")
        if boundaries != sorted(set(boundaries)) or (
                boundaries and not 0 < boundaries[0] <= boundaries[-1] < len(stage_names)):
            raise ConfigError("model.boundaries must be increasing stage indices in "
                              f"1..{len(stage_names) - 1}, got {boundaries}")
        return boundaries


@dataclass
class CIGTOutput:
    """What a training forward returns: the logits of the leaf reached, the routes and the soft decisions."""

    logits: torch.Tensor
    routes: torch.Tensor  # [M, L] block index per layer
    route_probs: list[torch.Tensor]  # p(n | x) [M_l, K] of each router that ran
    rows: torch.Tensor  # [M] batch row of each logits row (M = N unless samples were copied to all blocks)
    prob_rows: list[torch.Tensor]  # [M_l] the batch row of each route_probs row


def split_stages(stages: Sequence[StageSpec], boundaries: Sequence[int]) -> list[list[StageSpec]]:
    """Cut ``stages`` into layers; a new layer begins at each stage index in ``boundaries``."""
    edges = [0, *boundaries, len(stages)]
    return [list(stages[a:b]) for a, b in pairwise(edges)]


@contextmanager
def _eval_mode(module: nn.Module):
    module.eval()
    try:
        yield
    finally:
        module.train()


def _holds_batch_norm(block: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in block.modules())


def _traced_gather(blocks: nn.ModuleList, h: torch.Tensor, route: torch.Tensor) -> torch.Tensor:
    """Gather under torch.export (eval mode): every block runs on its sub-batch, empty or not, in one graph.

    Eval BatchNorm's kernel branches on ``numel == 0``, which a tracer cannot decide for a run-time size;
    a block that holds one gets a placeholder row (sample 0, dropped from its output), so its input is
    never empty. Eval blocks are per-sample, so the placeholder changes no other row. Exported models
    (``condnet.deploy.exportable.exportable_copy``) have no BatchNorm and no placeholder.
    """
    pieces, rows = [], []
    for k, block in enumerate(blocks):
        index = torch.nonzero(route == k).squeeze(1)
        if _holds_batch_norm(block):
            pieces.append(block(h[torch.cat([index, index.new_zeros(1)])])[:-1])
        else:
            pieces.append(block(h[index]))
        rows.append(index)
    out = torch.cat(pieces)  # scattered into a batch-sized tensor: later layers see the batch size, not a sum
    return out.new_empty((h.shape[0], *out.shape[1:])).index_copy(0, torch.cat(rows), out)


class CIGTNet(nn.Module):
    """A conditional information gain trellis built from the stage layers ``layers`` (one list per layer)."""

    def __init__(self, layers: Sequence[Sequence[StageSpec]], path_counts: Sequence[int], in_channels: int,
                 input_size: int, num_classes: int, head_pool: bool,
                 routing: RoutingConfig = RoutingConfig()) -> None:
        super().__init__()
        self.path_counts, self.num_classes, self.routing = list(path_counts), num_classes, routing
        self.layers = nn.ModuleList()
        self.routers = nn.ModuleDict()
        shape = torch.Size([in_channels, input_size, input_size])
        channels = in_channels
        for i, (stages, count) in enumerate(zip(layers, path_counts, strict=False)):
            blocks = []
            for _ in range(count):
                modules, out = [], channels
                for stage in stages:
                    module, out = stage.build(out, 1.0)
                    modules.append(module)
                if i == len(path_counts) - 1:
                    modules.append(Classifier(out, num_classes, head_pool))
                blocks.append(nn.Sequential(*modules))
            self.layers.append(nn.ModuleList(blocks))
            channels = out
            shape = self._output_shape(blocks[0], shape)
            if i + 1 < len(path_counts) and path_counts[i + 1] > 1 and routing.routing == "ig":
                features = router_input_features(shape, routing.router_pool)
                self.routers[str(i)] = Router(features, path_counts[i + 1], routing.router_hidden,
                                              routing.router_pool)
        self.epoch, self.step = 0, 0
        self._unit_cost: dict[tuple[int, ...], tuple[list[torch.Tensor], int]] = {}

    @staticmethod
    @torch.no_grad()
    def _output_shape(block: nn.Module, shape: torch.Size) -> torch.Size:
        with _eval_mode(block):
            return block(torch.zeros(1, *shape)).shape[1:]

    # training progress -------------------------------------------------------------------------
    def on_train_step(self, epoch: int, global_step: int) -> None:
        """Called by the engine before each training forward: warm-up and temperature follow it."""
        self.epoch, self.step = epoch, global_step

    @property
    def temperature(self) -> float:
        r = self.routing
        return temperature(self.step, r.temperature_initial, r.temperature_decay, r.temperature_min)

    # execution ------------------------------------------------------------------------------------
    def _randomized(self, n: int, device: torch.device) -> torch.Tensor | None:
        """Rows whose routes are drawn at random by a router in this training forward (None: none). With
        ``random_draw: per_router`` every call draws exactly floor(n * random_ratio) rows anew."""
        if not self.training or self.routing.routing != "ig":
            return None
        if self._warming_up():
            return torch.ones(n, dtype=torch.bool, device=device)
        if self.routing.random_draw == "shared":
            return torch.rand(n, device=device) < self.routing.random_ratio
        mask = torch.zeros(n, dtype=torch.bool, device=device)
        mask[torch.randperm(n, device=device)[: math.floor(n * self.routing.random_ratio)]] = True
        return mask

    def _warming_up(self) -> bool:
        return self.training and self.routing.routing == "ig" and self.epoch < self.routing.warmup_epochs

    def _router_probs(self, layer: int, h: torch.Tensor) -> torch.Tensor:
        """The soft decision p(n | x) of the router after layer ``layer``."""
        return torch.softmax(self.routers[str(layer)](h) / self.temperature, dim=1)

    def _eval_generator(self, device: torch.device) -> torch.Generator | None:
        """Random routing in eval mode draws from a fixed seed on every call, so evaluating the same batches
        twice gives the same routes and numbers; learned routing needs no generator."""
        if self.routing.routing != "random" or max(self.path_counts[1:], default=1) == 1:
            return None
        if torch.compiler.is_compiling():
            raise CondnetError(RANDOM_NOT_TRACEABLE)
        return torch.Generator(device=device).manual_seed(EVAL_ROUTE_SEED)

    def eval_route_mixture(self) -> list[tuple[tuple[int, ...], float]] | None:
        """For random routing: every path (one block per layer) with its probability under the uniformly
        random eval routes, so an accuracy can be taken as an exact expectation over routes (see
        ``condnet.train.objective.evaluate``); None for learned routing, whose routes are deterministic."""
        if self.routing.routing != "random":
            return None
        paths = list(product(*(range(count) for count in self.path_counts)))
        return [(path, 1.0 / len(paths)) for path in paths]

    def _check_path(self, path: Sequence[int]) -> tuple[int, ...]:
        path = tuple(int(block) for block in path)
        fits = len(path) == len(self.path_counts) and all(
            0 <= block < count for block, count in zip(path, self.path_counts, strict=True))
        if not fits:
            raise CondnetError(f"path {list(path)} does not fit path counts {self.path_counts}: give one "
                               "block index per layer, each below that layer's count")
        return path

    def _route(self, layer: int, h: torch.Tensor, randomized: torch.Tensor | None,
               generator: torch.Generator | None = None,
               path: tuple[int, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The block index each sample takes in layer ``layer + 1``, and the router's soft decision."""
        count = self.path_counts[layer + 1]
        n = h.shape[0]  # not len(): under torch.export a batch size is symbolic
        if path is not None:
            return torch.full((n,), path[layer + 1], dtype=torch.long, device=h.device), None
        if count == 1:
            return torch.zeros(n, dtype=torch.long, device=h.device), None
        if self.routing.routing == "random":
            return torch.randint(count, (n,), device=h.device, generator=generator), None
        if not self.training:  # the softmax's argmax, without its rounding ties (e.g. exp(-1e-8) == 1.0)
            return self.routers[str(layer)](h).argmax(1), None
        probs = self._router_probs(layer, h)
        route = probs.detach().argmax(1)
        if randomized is not None:
            route = torch.where(randomized, torch.randint(count, (n,), device=h.device), route)
        return route, probs

    def _run_block(self, block: nn.Module, h: torch.Tensor) -> torch.Tensor:
        if block.training and len(h) == 1:
            with _eval_mode(block):
                return block(h)
        return block(h)

    def _run_layer(self, blocks: nn.ModuleList, h: torch.Tensor, route: torch.Tensor) -> torch.Tensor:
        if len(blocks) == 1:
            return self._run_block(blocks[0], h)
        tracing = torch.compiler.is_compiling() and not self.training
        if self.routing.execution == "dense" or (tracing and not torch.compiler.is_exporting()):
            outputs = torch.stack([block(h) for block in blocks])
            return outputs[route, torch.arange(h.shape[0], device=h.device)]
        if tracing:
            return _traced_gather(blocks, h, route)
        return self._gather(blocks, h, route)

    def _gather(self, blocks: nn.ModuleList, h: torch.Tensor, route: torch.Tensor) -> torch.Tensor:
        """Eager gather: each block runs on its samples (in batch order); blocks without any are skipped."""
        if h.shape[0] == 1:
            return self._run_block(blocks[int(route)], h)
        counts = torch.bincount(route, minlength=len(blocks)).tolist()
        if max(counts) == len(h):  # one block takes every sample: no gather, no scatter
            return self._run_block(blocks[counts.index(len(h))], h)
        order = torch.argsort(route, stable=True)
        pieces = [self._run_block(block, h[index])
                  for block, index, count in zip(blocks, order.split(counts), counts, strict=True) if count]
        return torch.cat(pieces)[torch.argsort(order)]

    def forward(self, x: torch.Tensor, return_routes: bool = False, path: Sequence[int] | None = None):
        """Logits [N, C]; with ``return_routes`` also the routes [N, L]; in training a :class:`CIGTOutput`.

        ``path`` (eval mode only: one block index per layer) sends every sample through that path instead
        of routing it. In an all-paths warm-up (``warmup_routing: all``) every sample is copied to every
        block of each routed layer, so the training output has one row per (sample, leaf path); ``rows``
        maps them back.
        """
        if path is not None:
            if self.training:
                raise CondnetError("a forced path is for evaluation: call model.eval() first")
            path = self._check_path(path)
        n, depth = x.shape[0], len(self.layers)
        keep_routes = self.training or return_routes  # plain inference skips the bookkeeping
        route = torch.zeros(n, dtype=torch.long, device=x.device)
        rows = torch.arange(n, device=x.device) if self.training else None
        layer_routes, probs, prob_rows = [route], [], []
        copy_to_all = self._warming_up() and self.routing.warmup_routing == "all"
        per_router = self.routing.random_draw == "per_router"
        shared_draw = None if copy_to_all or per_router else self._randomized(n, x.device)
        generator = None if self.training or path is not None else self._eval_generator(x.device)
        h = x
        for i, blocks in enumerate(self.layers):
            h = self._run_layer(blocks, h, route)
            if i + 1 < depth:
                count = self.path_counts[i + 1]
                if copy_to_all and count > 1:
                    probs.append(self._router_probs(i, h))
                    prob_rows.append(rows)
                    h, rows = h.repeat_interleave(count, 0), rows.repeat_interleave(count)
                    layer_routes = [r.repeat_interleave(count) for r in layer_routes]
                    route = torch.arange(count, device=x.device).repeat(len(h) // count)
                else:
                    randomized = self._randomized(n, x.device) if per_router and count > 1 else shared_draw
                    route, p = self._route(i, h, randomized, generator, path)
                    if p is not None:
                        probs.append(p)
                        prob_rows.append(rows)
                if keep_routes:
                    layer_routes.append(route)
        if not keep_routes:
            return h
        routes = torch.stack(layer_routes, dim=1)
        if return_routes:
            return h, routes
        return CIGTOutput(h, routes, probs, rows, prob_rows)

    # loss -----------------------------------------------------------------------------------------
    def training_loss(self, output: CIGTOutput, targets: torch.Tensor,
                      label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
        """``ce``: classification loss of the leaves; ``ig``: lambda * sum over routers of -IG."""
        terms = {"ce": classification_loss(output.logits, targets[output.rows], output.routes[:, -1],
                                           self.path_counts[-1], self.routing.cls_loss, label_smoothing)}
        if output.route_probs:
            gains = [information_gain(p, targets[rows], self.num_classes, self.routing.balance)
                     for p, rows in zip(output.route_probs, output.prob_rows, strict=True)]
            terms["ig"] = -self.routing.ig_weight * torch.stack(gains).sum()
        return terms

    # cost -----------------------------------------------------------------------------------------
    def _unit_macs(self, sample: torch.Tensor) -> tuple[list[torch.Tensor], int]:
        """MACs of every block (per layer) and of all routers, for one sample shaped like ``sample``."""
        key = tuple(sample.shape[1:])
        if key not in self._unit_cost:
            blocks, routers, h = [], 0, sample[:1]
            for i, layer in enumerate(self.layers):
                blocks.append(torch.tensor([measure_macs(block, h).total for block in layer]))
                with torch.no_grad():
                    h = layer[0](h)
                if str(i) in self.routers:
                    routers += measure_macs(self.routers[str(i)], h).total
            self._unit_cost[key] = (blocks, routers)
        return self._unit_cost[key]

    def sample_macs(self, x: torch.Tensor) -> torch.Tensor:
        """MACs each sample of ``x`` executes at inference: the blocks of its path plus the routers."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                _, routes = self(x, return_routes=True)
            blocks, routers = self._unit_macs(x)
        finally:
            self.train(was_training)
        macs = torch.full((len(x),), routers, dtype=torch.long)
        for i, costs in enumerate(blocks):
            macs += costs[routes[:, i].cpu()]
        return macs

    def path_params(self) -> dict[str, int]:
        """Parameters of one root-to-leaf path (first block of each layer), of the routers, and in all."""
        path = sum(p.numel() for layer in self.layers for p in layer[0].parameters())
        routers = sum(p.numel() for p in self.routers.parameters())
        return {"path": path, "routers": routers, "total": sum(p.numel() for p in self.parameters())}
