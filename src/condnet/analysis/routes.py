"""Routing statistics of a CIGT trellis: which classes take which blocks and paths, and how much the
routes tell about the class (entropies and mutual information in nats, as the IG loss)."""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import product
from math import prod
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from condnet.analysis.figures import plt, save_figure
from condnet.errors import CondnetError
from condnet.models.cigt import CIGTNet, entropy, information_gain
from condnet.models.registry import family_of
from condnet.train.loading import LoadedRun
from condnet.train.objective import model_device


@dataclass
class RouteStats:
    """Route counts and information measures over one evaluated split."""

    path_counts: list[int]
    class_names: list[str]
    n: int
    accuracy: float  # % of samples whose leaf predicted the label
    layer_counts: list[list[list[int]]]  # per layer: [class][block] sample counts
    path_names: list[str]  # leaf paths as "b0-b1-...", in mixed-radix order
    path_counts_by_class: list[list[int]]  # [class][path] sample counts
    route_entropy: float  # H(path)
    mutual_information: float  # I(path; class)
    layer_mutual_information: list[float]  # I(block of layer l; class)

    def as_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def collect_routes(model: CIGTNet, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                   device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Routes [N, L], labels [N] and predictions [N] of ``model`` in eval mode (its mode is restored)."""
    device = device or model_device(model)
    was_training = model.training
    model.eval()
    routes, labels, predictions = [], [], []
    for x, y in batches:
        logits, r = model(x.to(device), return_routes=True)
        routes.append(r.cpu())
        labels.append(y)
        predictions.append(logits.argmax(1).cpu())
    model.train(was_training)
    return torch.cat(routes), torch.cat(labels), torch.cat(predictions)


def leaf_paths(routes: torch.Tensor, path_counts: Sequence[int]) -> torch.Tensor:
    """The index of each sample's root-to-leaf path (routes read as mixed-radix digits)."""
    index = torch.zeros(len(routes), dtype=torch.long)
    for layer, count in enumerate(path_counts):
        index = index * count + routes[:, layer]
    return index


def route_class_information(routes: torch.Tensor, labels: torch.Tensor, num_routes: int,
                            num_classes: int) -> float:
    """I(route; class) of hard routes: the information gain (balance 1) of one-hot route probabilities
    (clamped at 0: the entropies' epsilon can leave -1e-12 where the routes carry no information)."""
    return max(0.0, float(information_gain(F.one_hot(routes, num_routes).double(), labels, num_classes, 1.0)))


def route_statistics(routes: torch.Tensor, labels: torch.Tensor, path_counts: Sequence[int],
                     class_names: Sequence[str], predictions: torch.Tensor | None = None) -> RouteStats:
    """Counts per class of every block and leaf path, route entropy and route-class mutual information."""
    if len(routes) == 0:
        raise CondnetError("no samples to compute routing statistics on; use a non-empty split")
    num_classes = len(class_names)
    paths = leaf_paths(routes, path_counts)
    num_paths = prod(path_counts)

    def by_class(route: torch.Tensor, num_routes: int) -> list[list[int]]:
        return torch.bincount(labels * num_routes + route, minlength=num_classes * num_routes).view(
            num_classes, num_routes).tolist()

    accuracy = (100.0 * float((predictions == labels).double().mean()) if predictions is not None
                else float("nan"))
    return RouteStats(
        path_counts=list(path_counts), class_names=list(class_names), n=len(labels), accuracy=accuracy,
        layer_counts=[by_class(routes[:, layer], k) for layer, k in enumerate(path_counts)],
        path_names=["-".join(map(str, p)) for p in product(*(range(k) for k in path_counts))],
        path_counts_by_class=by_class(paths, num_paths),
        route_entropy=float(entropy(torch.bincount(paths, minlength=num_paths).double() / len(paths))),
        mutual_information=route_class_information(paths, labels, num_paths, num_classes),
        layer_mutual_information=[route_class_information(routes[:, layer], labels, k, num_classes)
                                  for layer, k in enumerate(path_counts)])


def plot_routes(stats: RouteStats, path: str | Path) -> Path:
    """Heatmaps (share of each class per block of every routed layer, and per leaf path) as an image file."""
    panels = [(f"layer {layer}: blocks", counts) for layer, counts in enumerate(stats.layer_counts)
              if stats.path_counts[layer] > 1]
    panels.append(("leaf paths", stats.path_counts_by_class))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 + 0.5 * sum(len(c[0]) for _, c in panels), 4.5),
                             squeeze=False, constrained_layout=True)
    for ax, (title, counts) in zip(axes[0], panels, strict=True):
        table = torch.tensor(counts, dtype=torch.float64)
        share = table / table.sum(1, keepdim=True).clamp(min=1)
        image = ax.imshow(share.numpy(), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_title(title)
        columns = stats.path_names if title == "leaf paths" else [str(k) for k in range(table.shape[1])]
        ax.set_xticks(range(len(columns)), columns, rotation=90 if title == "leaf paths" else 0)
        ax.set_yticks(range(len(stats.class_names)), stats.class_names if ax is axes[0][0] else [])
    fig.colorbar(image, ax=axes[0].tolist(), label="share of the class")
    fig.suptitle(f"routes by class: I(path; class) = {stats.mutual_information:.3f} nats, "
                 f"H(path) = {stats.route_entropy:.3f} nats")
    return save_figure(fig, path)


def routes_of_run(loaded: LoadedRun, split: str = "test") -> tuple[RouteStats, dict[str, Any]]:
    """Routing statistics of the loaded model on ``split``, and its parameter counts."""
    if not family_of(loaded.model).routed:
        raise CondnetError(f"{loaded.path} holds model {loaded.config.model['name']!r}, "
                           "which does not route; pass a run of a routed model (a cigt_* model)")
    routes, labels, predictions = collect_routes(loaded.model, loaded.batches(split).epoch())
    stats = route_statistics(routes, labels, loaded.model.path_counts, loaded.data.info.class_names,
                             predictions)
    return stats, {"path": str(loaded.path), "model": loaded.config.model["name"], "split": split,
                   "params": loaded.model.path_params()}
