"""Report figures: accuracy against cost (Pareto), expert savings, and the hierarchy as a tree.

The attention curves (``analysis.attention.plot_sweeps``) and the route heatmaps
(``analysis.routes.plot_routes``) live beside the analyses they draw.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from condnet.files import atomic_file

KIND_STYLE = {"baseline": ("s", "tab:gray"), "hnn": ("o", "tab:blue"), "cigt": ("D", "tab:green"),
              "expert": ("^", "tab:orange")}
OTHER_STYLE = ("P", "tab:purple")  # a family without a style of its own


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Write ``fig`` atomically in the format of ``path``'s suffix (PNG if none) and close it."""
    path = Path(path)
    with atomic_file(path, "wb") as handle:
        fig.savefig(handle, format=path.suffix.lstrip(".") or "png", dpi=120)
    plt.close(fig)
    return path


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats in both cost (lower) and accuracy (higher), by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def plot_pareto(points: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Accuracy against MACs per sample; ``points`` have label, macs, accuracy, kind (see KIND_STYLE) and
    optionally accuracy_std (an error bar of one std). Squares mark baselines.

    Models scored on different test images carry ``test_images`` (what they were scored on): the legend
    names it, the title says the accuracies are not comparable, and no Pareto front is drawn.
    """
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    models = [p for p in points if p["kind"] != "expert"]  # experts solve easier tasks: not on the front
    mixed = any("test_images" in p for p in models)
    colors = plt.get_cmap("tab10")
    for i, p in enumerate(models):  # one legend entry per model: labels beside close points would collide
        marker, _ = KIND_STYLE.get(p["kind"], OTHER_STYLE)
        std = p.get("accuracy_std")
        ax.scatter(p["macs"] / 1e6, p["accuracy"], marker=marker, color=colors(i), s=70, zorder=3,
                   edgecolors="black", linewidths=0.5,
                   label=f"{p['label']} ({p['kind']}{', mean ± std over seeds' if std is not None else ''}"
                         f"{', on ' + p['test_images'] + ' test images' if mixed else ''})")
        if std is not None:
            ax.errorbar(p["macs"] / 1e6, p["accuracy"], yerr=std, color=colors(i), capsize=4,
                        linewidth=1, zorder=2)
    experts = [p for p in points if p["kind"] == "expert"]
    if experts:
        marker, color = KIND_STYLE["expert"]
        ax.scatter([p["macs"] / 1e6 for p in experts], [p["accuracy"] for p in experts], marker=marker,
                   color=color, s=30, zorder=3, label="cutout experts (on their classes)")
        for p in experts:
            ax.annotate(p["label"], (p["macs"] / 1e6, p["accuracy"]), textcoords="offset points",
                        xytext=(5, 3), fontsize=7, color="dimgray")
    if not mixed:
        front = [models[i] for i in pareto_front([(p["macs"], p["accuracy"]) for p in models])]
        ax.plot([p["macs"] / 1e6 for p in front], [p["accuracy"] for p in front], color="black",
                linewidth=0.8, linestyle=":", label="Pareto front (full models)", zorder=2)
    ax.set_xscale("log")
    ax.set_xlabel("MACs per sample (millions, log scale)")
    ax.set_ylabel("test accuracy on the model's classes (%)")
    ax.set_title("Accuracy against inference cost" +
                 ("\n(models scored on different test images: accuracies not comparable)" if mixed else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return save_figure(fig, path)


def plot_savings(experts: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Per expert (dicts with label, reduction_vs_full and reduction_vs_backbone), the parameter and MAC
    reductions (%) against the full HNN and the plain backbone."""
    labels = [e["label"] for e in experts]
    series = [("params vs full HNN", "reduction_vs_full", "params"),
              ("MACs vs full HNN", "reduction_vs_full", "macs"),
              ("params vs backbone", "reduction_vs_backbone", "params"),
              ("MACs vs backbone", "reduction_vs_backbone", "macs")]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(experts) + 1.5))
    height = 0.8 / len(series)
    for s, (name, key, what) in enumerate(series):
        ax.barh([i + s * height for i in range(len(experts))], [e[key][what] for e in experts], height,
                label=name)
    ax.set_yticks([i + 1.5 * height for i in range(len(experts))], labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("reduction (%)")
    ax.set_title("Cutout experts: what they save")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def _tree_layout(tree: dict[str, Any]) -> tuple[dict[str, tuple[float, float]], list[tuple[str, str]]]:
    """x (leaves evenly spaced, parents centred over children) and y (-depth) of every node, and the edges."""
    positions: dict[str, tuple[float, float]] = {}
    edges: list[tuple[str, str]] = []
    next_leaf = [0]

    def place(node: dict[str, Any], depth: int) -> float:
        children = node.get("children", [])
        if children:
            xs = [place(child, depth + 1) for child in children]
            edges.extend((node["name"], child["name"]) for child in children)
            x = sum(xs) / len(xs)
        else:
            x = next_leaf[0]
            next_leaf[0] += 1
        positions[node["name"]] = (x, -depth)
        return x

    place(tree, 0)
    return positions, edges


def plot_tree(tree: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """The hierarchy as a tree; ``tree`` nodes have name, params, macs and optional children."""
    positions, edges = _tree_layout(tree)
    nodes: dict[str, dict[str, Any]] = {}

    def collect(node: dict[str, Any]) -> None:
        nodes[node["name"]] = node
        for child in node.get("children", []):
            collect(child)

    collect(tree)
    width = max(x for x, _ in positions.values()) + 1
    depth = -min(y for _, y in positions.values()) + 1
    fig, ax = plt.subplots(figsize=(max(6.0, 1.25 * width), 1.6 * depth + 0.8))
    for parent, child in edges:
        (x0, y0), (x1, y1) = positions[parent], positions[child]
        ax.plot([x0, x1], [y0, y1], color="gray", linewidth=1, zorder=1)
    for name, (x, y) in positions.items():
        node = nodes[name]
        leaf = not node.get("children")
        text = f"{name}\n{node['params'] / 1e3:,.1f}K params\n{node['macs'] / 1e6:,.2f}M MACs"
        ax.text(x, y, text, ha="center", va="center", fontsize=7, zorder=2,
                bbox={"boxstyle": "round", "facecolor": "#fde8c8" if leaf else "#d6e6f5",
                      "edgecolor": "gray"})
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(-depth + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(title or "Hierarchy: parameters and MACs per sample of each node's own segments")
    fig.tight_layout()
    return save_figure(fig, path)
