"""Cutout experts: their cost against the full HNN and the plain backbone, and their accuracy.

``expert_report(full, classes, test, ...)`` cuts an expert out of a trained HNN and returns a plain
dict (``report_of_expert`` does the same for an expert already cut): parameters and MACs per sample of
the expert, of the full HNN and of the plain backbone, the reductions (%) against both, the expert's
accuracy on the test images of its classes (argmax over its classes) and the full model's accuracy
(argmax over all classes) on the same images.

The model cut from may itself be an expert (``condnet cutout EXPERT.pt``): then the ``full`` entries
describe that source expert (its cost, its accuracy as the argmax over its own classes), and ``source``
says which it is.
"""

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from condnet.cost import count_macs, count_params
from condnet.data import Batcher, Split
from condnet.errors import CondnetError
from condnet.models.hnn import HNN
from condnet.models.registry import family_of
from condnet.models.stages import StageNet
from condnet.train.loading import LoadedRun, load_run
from condnet.train.objective import collect_logits, model_device


def reduction(part: float, whole: float) -> float:
    """How much smaller ``part`` is than ``whole``, in percent."""
    return 100.0 * (1.0 - part / whole)


def model_cost(model: nn.Module, example: torch.Tensor) -> dict[str, float]:
    """Parameters and MACs per sample of ``model`` (in eval mode) on ``example`` [N, C, H, W]."""
    was_training = model.training
    cost = {"params": count_params(model), "macs": count_macs(model.eval(), example.to(model_device(model)))}
    model.train(was_training)
    return cost


def costs(full: HNN, expert: HNN) -> dict[str, Any]:
    """Cost of the expert, of the model it was cut from (``full``: the full HNN or a source expert) and of
    the plain backbone, and the expert's reductions against both."""
    spec = full.spec
    example = torch.zeros(2, spec.in_channels, spec.input_size, spec.input_size)
    rows = {"expert": model_cost(expert, example), "full": model_cost(full, example),
            "backbone": model_cost(StageNet(spec), example)}
    return {**rows, "reduction_vs_full": {k: reduction(rows["expert"][k], rows["full"][k])
                                          for k in ("params", "macs")},
            "reduction_vs_backbone": {k: reduction(rows["expert"][k], rows["backbone"][k])
                                      for k in ("params", "macs")}}


def accuracies(full: HNN, expert: HNN, images: Batcher) -> dict[str, Any]:
    """Accuracy (%) of the expert (argmax over its classes) and of the model it was cut from (argmax over
    that model's classes: all of them for the full HNN, its own for a source expert) on ``images``.

    ``images`` holds only images of the expert's classes, labelled with full-model class indices.
    """
    expert_logits, labels = collect_logits(expert, images.epoch())
    full_logits, _ = collect_logits(full, images.epoch())
    n = max(len(labels), 1)

    def accuracy(model: HNN, logits: torch.Tensor) -> float:  # output positions -> class indices
        return 100.0 * float((torch.tensor(model.output_classes)[logits.argmax(1)] == labels).sum()) / n

    return {"n": len(labels), "expert_accuracy": accuracy(expert, expert_logits),
            "full_accuracy": accuracy(full, full_logits)}


def source_of(full: HNN) -> dict[str, Any]:
    """What an expert was cut from: ``kind`` "full" (the full HNN) or "expert" (an expert cut earlier),
    and its classes (indices and names)."""
    return {"kind": "full" if full.classes is None else "expert", "classes": full.output_classes,
            "class_names": full.class_names}


def images_of(test: Split, classes: Sequence[int]) -> Split:
    """The images of ``classes`` with their original (full-model) labels."""
    mask = torch.isin(test.labels, torch.tensor(list(classes)))
    return test.subset(mask.nonzero().flatten())


def expert_report(full: HNN, classes: Sequence[str | int], test: Split, batcher: Batcher) -> dict[str, Any]:
    """Cut an expert for ``classes`` out of ``full`` (the full HNN or an expert) and report its cost and
    accuracy (:func:`report_of_expert`)."""
    return report_of_expert(full, full.cutout(classes), test, batcher)


def report_of_expert(full: HNN, expert: HNN, test: Split, batcher: Batcher) -> dict[str, Any]:
    """Cost and accuracy of ``expert``, cut out of ``full``; the ``full`` entries are those of ``full``,
    whichever ``source`` says it is.

    ``batcher`` is an evaluation batcher (its split is replaced by the images of the expert's classes).
    """
    expert = expert.eval()
    images = Batcher(images_of(test, expert.output_classes), batcher.batch_size, batcher.mean, batcher.std)
    return {"classes": expert.output_classes, "class_names": expert.class_names, "source": source_of(full),
            **costs(full, expert), **accuracies(full.eval(), expert, images)}


def measured_speedup(full: HNN, expert: HNN, images: torch.Tensor, batch: int = 64,
                     rounds: int = 20) -> float:
    """The expert's eager speed-up over the full HNN (median latency, 1 thread, interleaved) at ``batch``."""
    from condnet.deploy.bench import BenchModel, time_side_by_side

    images = images.to(model_device(full))
    models = [BenchModel("full", full.eval(), images, 1.0), BenchModel("expert", expert.eval(), images, 1.0)]
    return time_side_by_side(models, ["eager"], [batch], threads=1, rounds=rounds)[1].speedup


def group_experts(full: HNN) -> list[list[str]]:
    """Every single-group expert (groups below the root), as name lists."""
    return [[g.name] for g, depth in full.hierarchy.groups() if depth > 0]


def standard_experts(full: HNN) -> list[list[str]]:
    """Every single-group expert and every single-class expert, as name lists."""
    return group_experts(full) + [[name] for name in full.hierarchy.class_names]


def load_hnn(path: str, device: str = "cpu") -> LoadedRun:
    """The run of an HNN (a run directory or checkpoint; the model in eval mode, on ``device``)."""
    loaded = load_run(path, device)
    if not family_of(loaded.model).hierarchical:
        raise CondnetError(f"{loaded.path} holds a {loaded.config.model['name']!r} model, not an HNN; "
                           "cutout and attention need a hierarchical network (an hnn_* model)")
    return loaded


def expert_table(path: str) -> list[dict[str, Any]]:
    """:func:`expert_report` (plus ``name``) of every single-group and single-class expert of the HNN
    run at ``path``."""
    loaded = load_hnn(path)
    test, batcher = loaded.split("test"), loaded.batches()
    return [{"name": names[0], **expert_report(loaded.model, names, test, batcher)}
            for names in standard_experts(loaded.model)]


def format_expert_table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`expert_table` as aligned text."""
    lines = [(f"{'expert':<34} {'params':>9} {'MACs':>11} {'-params% full/bb':>17} {'-MACs% full/bb':>15} "
              f"{'n':>5} {'acc expert':>10} {'acc full':>9}")]
    for r in rows:
        lines.append(f"{r['name'][:34]:<34} {r['expert']['params']:>9,} {r['expert']['macs']:>11,} "
                     f"{r['reduction_vs_full']['params']:>8.2f}/{r['reduction_vs_backbone']['params']:>6.2f} "
                     f"{r['reduction_vs_full']['macs']:>7.2f}/{r['reduction_vs_backbone']['macs']:>6.2f} "
                     f"{r['n']:>5} {r['expert_accuracy']:>10.2f} {r['full_accuracy']:>9.2f}")
    return "\n".join(lines)
