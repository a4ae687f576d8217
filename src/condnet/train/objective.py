"""Training losses and evaluation, shared by every model.

A model's forward returns logits, or an object with ``.logits``. A model that needs its own training
loss (e.g. CIGT's information gain) defines ``training_loss(output, targets, label_smoothing) ->
dict[str, Tensor]``; the terms are summed. An output with ``.rows`` has one row per copy of a sample
(see :func:`targets_of`). A model that changes with training progress (temperature
schedules, warm-up) defines ``on_train_step(epoch, step)``, called before each training forward. A model
whose training forward takes inputs drawn from the labels (an HNN's attention-aware training cues)
defines ``training_kwargs(targets) -> dict``, passed to that forward as keyword arguments.
"""

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from condnet.train.distributed import DistInfo, all_reduce_sum


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's parameters (CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def logits_of(output: object) -> torch.Tensor:
    """The logits of a model's output (a tensor, or an object with ``.logits``)."""
    return output if isinstance(output, torch.Tensor) else output.logits


def targets_of(output: object, targets: torch.Tensor) -> torch.Tensor:
    """The target of each row of a training output: ``targets``, or ``targets[output.rows]`` for a model
    that copies samples (CIGT's all-paths warm-up says which batch row each output row came from)."""
    rows = getattr(output, "rows", None)
    return targets if rows is None else targets[rows]


def training_losses(model: nn.Module, output: object, targets: torch.Tensor,
                    label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
    """The model's loss terms (cross-entropy unless it defines ``training_loss``)."""
    custom = getattr(model, "training_loss", None)
    if custom is not None:
        return custom(output, targets, label_smoothing=label_smoothing)
    return {"ce": F.cross_entropy(logits_of(output), targets, label_smoothing=label_smoothing)}


@torch.no_grad()
def collect_logits(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                   device: torch.device | None = None,
                   **forward_kwargs: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels of every batch, in eval mode (the model's mode is restored afterwards); inputs go
    to ``device`` (default: the model's); ``forward_kwargs`` go to every forward call."""
    device = device or model_device(model)
    was_training = model.training
    model.eval()
    logits, labels = [], []
    for x, y in batches:
        logits.append(logits_of(model(x.to(device), **forward_kwargs)).float().cpu())
        labels.append(y)
    model.train(was_training)
    return torch.cat(logits), torch.cat(labels)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
             device: torch.device | None = None, dist: DistInfo | None = None) -> dict[str, float]:
    """Accuracy (%) and mean cross-entropy over the batches, summed over ranks (``dist`` None: a single
    process).

    A model whose eval routes are random (``eval_route_mixture()`` gives the paths and their
    probabilities, e.g. CIGT's random-routing ablation) is scored by its expected accuracy and loss over
    its routes, computed exactly: every path's, weighted by its probability. One draw of routes would make
    the number depend on the draw, and on where each image sits in its batch.
    """
    if dist is None:
        dist = DistInfo()
    mixture = getattr(model, "eval_route_mixture", lambda: None)()
    if mixture is None:
        scored = [(collect_logits(model, batches, device), 1.0)]
    else:
        batches = list(batches)  # one pass per path
        scored = [(collect_logits(model, batches, device, path=path), weight) for path, weight in mixture]
    images = len(scored[0][0][1])  # the same images for every path
    sums = torch.tensor([0.0, 0.0, float(images)], dtype=torch.float64)
    for (logits, labels), weight in scored:
        if images:
            sums[0] += weight * F.cross_entropy(logits, labels, reduction="sum").item()
            sums[1] += weight * float((logits.argmax(1) == labels).sum())
    loss, correct, n = all_reduce_sum(sums, dist).tolist()
    return {"loss": loss / max(n, 1), "accuracy": 100.0 * correct / max(n, 1), "n": int(n)}
