"""Top-down attention protocols: test accuracy of an HNN under cues on the nodes of one tree level.

A cue names a node of ``level`` (1: the root's children; see :mod:`condnet.models.hnn.cues`): the
image's own node at that level, or with ``noisy-cue`` another node of the level with probability
1 - ``reliability`` (seeded, drawn once per image for the whole sweep). A node may be a class that ends
above the level (Fashion-MNIST level 1: Bag; level 2: Trouser, Dress, ...): such a cue names the class.

- ``group-cue``: the cued node's gain is set to ``gain``.
- ``inhibit-distractors``: every other node of the level gets ``gain``.
- ``noisy-cue``: as ``group-cue``, right with probability ``reliability``.

Every sweep scores the same images side by side: no signal; the evidence prior (log(gain) added to
the logits of the cued node's classes, :meth:`HNN.add_evidence`, a baseline); feature attention (the
gains applied to features, in the model's feature mode, ``head`` for a model whose mode is
``evidence``); and the ceiling, the cued node's expert (the prediction restricted to its classes: what
cutting the expert out would answer). A prediction whose every logit is -inf answers nothing and counts as
wrong: the ceiling when the cue names a node holding none of an expert's classes, the evidence prior at
gain 0 when the cued node holds all of them.
"""

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from condnet.analysis.figures import plt, save_figure
from condnet.analysis.seeds import summarise
from condnet.data import Batcher
from condnet.errors import CondnetError
from condnet.models.hnn import HNN
from condnet.models.hnn.cues import level_nodes
from condnet.train.objective import logits_of, model_device

PROTOCOLS = ("group-cue", "inhibit-distractors", "noisy-cue")


@dataclass
class Sweep:
    """Accuracy (%) over ``n`` images at one level: no signal, and per gain with feature attention
    (``accuracy``) and with the evidence prior; ``ceiling_accuracy``: the cued node's expert."""

    protocol: str
    gains: list[float]
    accuracy: list[float]
    no_signal_accuracy: float
    n: int
    cued: int
    reliability: float | None = None
    cue_correct: float | None = None  # % of cued images whose cue named their own node
    groups: list[str] = field(default_factory=list)  # the nodes of the level
    level: int = 1
    feature_mode: str = "head"
    evidence_accuracy: list[float] = field(default_factory=list)
    ceiling_accuracy: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def draw_cues(truth: torch.Tensor, num_nodes: int, reliability: float, seed: int) -> torch.Tensor:
    """The cued node of each image: its own with probability ``reliability``, else another at random."""
    generator = torch.Generator().manual_seed(seed)
    right = torch.rand(len(truth), generator=generator) < reliability
    if num_nodes < 2:
        return truth
    other = torch.randint(0, num_nodes - 1, (len(truth),), generator=generator)
    other = other + (other >= truth).long()  # uniform over the nodes that are not the image's own
    return torch.where(right, truth, other)


def cue_gains(nodes: Sequence[str], protocol: str, cues: torch.Tensor,
              gain: float) -> dict[str, torch.Tensor]:
    """Per-image gains of a level's ``nodes`` for ``cues`` (node index per image)."""
    if protocol == "inhibit-distractors":
        return {name: torch.where(cues != j, gain, 1.0) for j, name in enumerate(nodes)}
    return {name: torch.where(cues == j, gain, 1.0) for j, name in enumerate(nodes)}


@contextmanager
def feature_attention(model: HNN) -> Iterator[str]:
    """``model`` applying gains to features (its own feature mode, else ``head``) for the duration."""
    saved = model.attention
    model.attention = saved if saved != "evidence" else "head"
    try:
        yield model.attention
    finally:
        model.attention = saved


def check_sweep(protocol: str, gains: Sequence[float], reliability: float) -> None:
    """Errors for an unknown protocol, a gain that is negative, NaN or infinite, or a bad reliability."""
    if protocol not in PROTOCOLS:
        raise CondnetError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    for gain in gains:
        if not 0 <= gain < float("inf"):
            raise CondnetError(f"gains must be finite and >= 0, got {gain}")
    if not 0.0 <= reliability <= 1.0:
        raise CondnetError(f"reliability must be in [0, 1], got {reliability}")


def attention_sweep(model: HNN, images: Batcher, protocol: str, gains: Sequence[float],
                    reliability: float = 0.8, seed: int = 0, level: int = 1) -> Sweep:
    """Test accuracy of ``model`` under ``protocol`` on the nodes of ``level`` for each gain: feature
    attention and the evidence prior side by side, next to no signal and the cued node's expert.

    ``images`` are labelled with full-network class indices; an expert is scored on its own classes (pass
    only their images); a cue on a node the expert does not hold is dropped (for the ceiling, the cued
    node's expert, such an image counts as wrong: none of the model's classes is below that node)."""
    check_sweep(protocol, gains, reliability)
    nodes, table = level_nodes(model.hierarchy, level)
    kept = [name for name in nodes if name in model.node_names]
    model.eval()
    device, classes = model_device(model), torch.tensor(model.output_classes)  # an expert answers its classes
    under = torch.stack([torch.isin(classes, torch.tensor(model.node_classes(name))) for name in nodes])
    correct = torch.zeros(2 * len(gains) + 2, dtype=torch.int64)
    n = right = 0
    p = reliability if protocol == "noisy-cue" else 1.0
    with torch.no_grad(), feature_attention(model) as mode:
        for batch, (x, y) in enumerate(images.epoch()):
            x = x.to(device)
            truth = table[y]
            cues = draw_cues(truth, len(nodes), p, seed * 1_000_003 + batch)
            plain = logits_of(model(x)).cpu()
            predicted = [plain.masked_fill(~under[cues], float("-inf"))]  # the cued node's expert
            for gain in gains:
                signal = {k: v for k, v in cue_gains(nodes, protocol, cues, float(gain)).items() if k in kept}
                predicted += [model.add_evidence(plain, signal), logits_of(model(x, gains=signal)).cpu()]
            # a row whose every logit is -inf gives no answer and counts wrong (not as its first class):
            # the ceiling when the cued node holds none of an expert's classes, the prior at gain 0 when
            # it silences every class of an expert
            answers = [torch.where((logits > float("-inf")).any(1), classes[logits.argmax(1)], -1)
                       for logits in [plain, *predicted]]
            hits = [int((answer == y).sum()) for answer in answers]
            correct += torch.tensor(hits)
            n += len(y)
            right += int((cues == truth).sum())
    accuracy = (100.0 * correct.double() / max(n, 1)).tolist()
    return Sweep(protocol, [float(g) for g in gains], accuracy[3::2], accuracy[0], n, n,
                 reliability if protocol == "noisy-cue" else None,
                 100.0 * right / n if protocol == "noisy-cue" and n else None, nodes, level, mode,
                 accuracy[2::2], accuracy[1])


def summarise_sweeps(sweeps: Sequence[Sweep]) -> dict[str, Any]:
    """Statistics over seeds (one sweep per seed, same protocol, level, gains and images) of the no-signal,
    ceiling, feature-attention and evidence-prior accuracies, and of each one's change against no signal
    taken per seed (paired): n, mean, sample std, min, max."""
    first = sweeps[0]
    if any((s.protocol, s.level, s.gains, s.n) != (first.protocol, first.level, first.gains, first.n)
           for s in sweeps):
        raise CondnetError("the sweeps to summarise differ in protocol, level, gains or images")

    def stats(values: Sequence[float]) -> dict[str, Any]:
        return asdict(summarise(list(values)))

    def change(values: Sequence[float]) -> dict[str, Any]:
        return stats([v - s.no_signal_accuracy for v, s in zip(values, sweeps, strict=True)])

    rows = []
    for i, gain in enumerate(first.gains):
        features, evidence = [s.accuracy[i] for s in sweeps], [s.evidence_accuracy[i] for s in sweeps]
        rows.append({"gain": gain, "features": stats(features), "features_change": change(features),
                     "evidence": stats(evidence), "evidence_change": change(evidence)})
    ceiling = [s.ceiling_accuracy for s in sweeps]
    return {"protocol": first.protocol, "level": first.level, "groups": first.groups, "n": first.n,
            "feature_mode": first.feature_mode, "seeds": len(sweeps),
            "no_signal": stats([s.no_signal_accuracy for s in sweeps]), "ceiling": stats(ceiling),
            "ceiling_change": change(ceiling), "gains": rows}


def mean_sweep(sweeps: Sequence[Sweep]) -> Sweep:
    """One sweep holding the mean over seeds of every accuracy (see :func:`summarise_sweeps`)."""
    summary = summarise_sweeps(sweeps)
    rows = summary["gains"]
    right = None if sweeps[0].cue_correct is None else sum(s.cue_correct for s in sweeps) / len(sweeps)
    return dataclasses.replace(
        sweeps[0], accuracy=[r["features"]["mean"] for r in rows],
        evidence_accuracy=[r["evidence"]["mean"] for r in rows], cue_correct=right,
        no_signal_accuracy=summary["no_signal"]["mean"], ceiling_accuracy=summary["ceiling"]["mean"])


def plot_sweeps(sweeps: Sequence[Sweep], path: str | Path, title: str = "") -> None:
    """Accuracy against gain: per protocol feature attention (solid) and the evidence prior (dotted), the
    no-signal accuracy dashed and the cued node's expert dash-dotted; the right panel zooms on gains > 0."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, positive in zip(axes, (False, True), strict=True):
        for sweep in sweeps:
            label = sweep.protocol + (f" (p={sweep.reliability})" if sweep.reliability is not None else "")
            for values, style, kind in ((sweep.accuracy, "-", sweep.feature_mode),
                                        (sweep.evidence_accuracy, ":", "evidence")):
                points = [(g, a) for g, a in zip(sweep.gains, values, strict=True) if g > 0 or not positive]
                if points:
                    ax.plot(*zip(*points, strict=True), marker="o", linestyle=style, label=f"{label}, {kind}")
        ax.axhline(sweeps[0].no_signal_accuracy, color="gray", linestyle="--", label="no signal")
        if sweeps[0].ceiling_accuracy is not None:
            ax.axhline(sweeps[0].ceiling_accuracy, color="black", linestyle="-.", label="cued node's expert")
        ax.set_xlabel("gain")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, alpha=0.3)
    axes[0].set_title("all gains")
    axes[1].set_title("gains > 0 (zoom)")
    axes[1].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
