"""Top-down attention protocols: test accuracy of an HNN under group-level cues, over a sweep of gains.

The cue of an image comes from its true top-level group (a group directly under the root), never from
its class. Images of classes that hang directly from the root have no group and get no signal.

- ``group-cue``: the true group's gain is set to ``gain``.
- ``inhibit-distractors``: every other top-level node (groups and root-level classes) gets ``gain``.
- ``noisy-cue``: a cued group gets ``gain``; it is the true group with probability ``reliability`` and a
  uniformly drawn other group otherwise (seeded, drawn once per image for the whole sweep).
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from condnet.analysis.figures import plt, save_figure
from condnet.data import Batcher
from condnet.errors import CondnetError
from condnet.models.hnn import HNN
from condnet.train.objective import logits_of, model_device

PROTOCOLS = ("group-cue", "inhibit-distractors", "noisy-cue")


@dataclass
class Sweep:
    """Accuracy (%) with no signal and under each gain, over ``n`` images (``cued`` of them with a cue)."""

    protocol: str
    gains: list[float]
    accuracy: list[float]
    no_signal_accuracy: float
    n: int
    cued: int
    reliability: float | None = None
    cue_correct: float | None = None  # % of cued images whose cue named their true group
    groups: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def true_groups(model: HNN, labels: torch.Tensor) -> torch.Tensor:
    """Index (into ``model.hierarchy.top_groups()``) of each label's top-level group, -1 if it has none."""
    groups = model.hierarchy.top_groups()
    table = torch.full((model.hierarchy.num_classes,), -1, dtype=torch.int64)
    for g, group in enumerate(groups):
        table[torch.tensor(model.node_classes(group.name))] = g
    return table[labels]


def draw_cues(truth: torch.Tensor, num_groups: int, reliability: float, seed: int) -> torch.Tensor:
    """The cued group of each image: the true one with probability ``reliability``, else another at random."""
    generator = torch.Generator().manual_seed(seed)
    right = torch.rand(len(truth), generator=generator) < reliability
    if num_groups < 2:
        return truth
    other = torch.randint(0, num_groups - 1, (len(truth),), generator=generator)
    other = other + (other >= truth).long()  # uniform over the groups that are not the true one
    return torch.where(right | (truth < 0), truth, other)


def cue_gains(model: HNN, protocol: str, cues: torch.Tensor, gain: float) -> dict[str, torch.Tensor]:
    """Per-image gains of each top-level node for ``cues`` (group index per image, -1: no signal)."""
    groups = model.hierarchy.top_groups()
    has_cue = cues >= 0
    gains = {}
    if protocol == "inhibit-distractors":
        top_nodes = [c.name if not isinstance(c, int) else model.hierarchy.class_names[c]
                     for c in model.hierarchy.root.children]
        for name in top_nodes:
            index = next((g for g, group in enumerate(groups) if group.name == name), -2)
            gains[name] = torch.where(has_cue & (cues != index), gain, 1.0)
    else:
        for g, group in enumerate(groups):
            gains[group.name] = torch.where(cues == g, gain, 1.0)
    return {k: v for k, v in gains.items() if k in model.node_names}


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
                    reliability: float = 0.8, seed: int = 0) -> Sweep:
    """Test accuracy of ``model`` under ``protocol`` for each gain, next to the no-signal accuracy.

    ``images`` are labelled with full-network class indices; an expert is scored on its own classes (pass
    only their images), a cue on a group the expert does not hold is dropped."""
    check_sweep(protocol, gains, reliability)
    groups = model.hierarchy.top_groups()
    if not groups:
        raise CondnetError("the hierarchy has no groups under its root, so there is no group cue to give")
    model.eval()
    device, classes = model_device(model), torch.tensor(model.output_classes)  # an expert answers its classes
    correct = torch.zeros(len(gains) + 1, dtype=torch.int64)
    n = cued = right = 0
    with torch.no_grad():
        for batch, (x, y) in enumerate(images.epoch()):
            x = x.to(device)
            truth = true_groups(model, y)
            cues = draw_cues(truth, len(groups), reliability if protocol == "noisy-cue" else 1.0,
                             seed * 1_000_003 + batch)
            plain = logits_of(model(x))
            correct[0] += int((classes[plain.argmax(1).cpu()] == y).sum())
            for i, gain in enumerate(gains, start=1):
                signal = cue_gains(model, protocol, cues, float(gain))
                logits = (model.add_evidence(plain, signal) if model.attention == "evidence"
                          else logits_of(model(x, gains=signal)))
                correct[i] += int((classes[logits.argmax(1).cpu()] == y).sum())
            n += len(y)
            cued += int((truth >= 0).sum())
            right += int(((cues == truth) & (truth >= 0)).sum())
    accuracy = (100.0 * correct.double() / max(n, 1)).tolist()
    return Sweep(protocol, [float(g) for g in gains], accuracy[1:], accuracy[0], n, cued,
                 reliability if protocol == "noisy-cue" else None,
                 100.0 * right / cued if protocol == "noisy-cue" and cued else None, [g.name for g in groups])


def plot_sweeps(sweeps: Sequence[Sweep], path: str | Path, title: str = "") -> None:
    """Accuracy against gain, one line per protocol, the no-signal accuracy dashed; the right panel zooms
    on the gains > 0, where the changes are a fraction of a point."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, positive in zip(axes, (False, True)):
        for sweep in sweeps:
            label = sweep.protocol + (f" (p={sweep.reliability})" if sweep.reliability is not None else "")
            points = [(g, a) for g, a in zip(sweep.gains, sweep.accuracy) if g > 0 or not positive]
            ax.plot(*zip(*points), marker="o", label=label)
        ax.axhline(sweeps[0].no_signal_accuracy, color="gray", linestyle="--", label="no signal")
        ax.set_xlabel("gain")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, alpha=0.3)
    axes[0].set_title("all gains")
    axes[1].set_title("gains > 0 (zoom)")
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
