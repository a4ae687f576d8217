"""Reports over trained runs: what every run measures (accuracy, cost, experts, attention, routes),
written as a Markdown report with PNG figures.

``analyse_run`` returns a plain dict per run (cached by the demo); ``write_report`` turns a list of them
into ``report.md`` and the figures. ``condnet report`` and ``condnet demo`` both use them. A directory of
runs of one config (``condnet seeds --out``) is one model: mean ± std of its test accuracy, an error bar.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from condnet.analysis.attention import PROTOCOLS, Sweep, attention_sweep, plot_sweeps
from condnet.analysis.evaluation import evaluate_run
from condnet.analysis.experts import expert_report, group_experts
from condnet.analysis.figures import plot_pareto, plot_savings, plot_tree
from condnet.analysis.routes import RouteStats, plot_routes, routes_of_run
from condnet.analysis.seeds import compare, describe_test_set, is_seeds_dir, model_runs
from condnet.analysis.tree_costs import node_cost_tree
from condnet.files import write_text_atomic
from condnet.models.hnn import HNN
from condnet.models.registry import family_of, routes_at_random
from condnet.train.loading import load_run

DEFAULT_GAINS = (0.0, 0.5, 1.0, 1.5, 2.0, 4.0)


def demo_experts(model: HNN) -> list[list[str]]:
    """Every group below the root, and one single class (the first class of the first group)."""
    groups = group_experts(model)
    return groups + [[model.class_names[model.node_classes(groups[0][0])[0]]]] if groups else groups


def run_kind(model: Any) -> str:
    """The model's family (hnn, cigt, ...), or baseline: plain networks and randomly routed ones."""
    family = family_of(model)
    if not (family.routed or family.hierarchical) or routes_at_random(model):
        return "baseline"
    return family.name


def analyse_run(path: str | Path, label: str | None = None, experts: Sequence[Sequence[str]] | None = None,
                gains: Sequence[float] = DEFAULT_GAINS, reliability: float = 0.8,
                device: str = "cpu") -> dict[str, Any]:
    """Everything the report shows about one run, as plain data.

    All runs: ``condnet eval --json``'s figures on the test split and, as ``scoring``, the images it was
    scored and selected on (dataset, test_n, data.limit_test, val_n: 0 when the checkpoint is the last
    epoch's, for want of a validation split). HNNs: expert reports (``experts``, by
    default :func:`demo_experts`), attention sweeps for every protocol and the per-node cost tree.
    Routed CIGTs: routing statistics. A directory of runs (:func:`~condnet.analysis.seeds.is_seeds_dir`)
    is analysed through its first run, with ``seeds`` holding every run's test accuracy statistics.
    """
    if is_seeds_dir(path):
        runs = model_runs(path, label)
        first = analyse_run(runs.paths[0], runs.label, experts, gains, reliability, device)
        return {**first, "name": Path(path).name, "path": str(path), "seeds": compare([runs])["models"][0]}
    loaded = load_run(path, device)
    result: dict[str, Any] = {"name": Path(path).name, "label": label or Path(path).name, "path": str(path),
                              "kind": run_kind(loaded.model),
                              "eval": evaluate_run(loaded)}
    data = loaded.config.data
    result["scoring"] = {"dataset": data.dataset, "test_n": len(loaded.data.test),
                         "limit_test": data.limit_test, "val_n": len(loaded.data.val)}
    model = loaded.model
    family = family_of(model)
    if family.hierarchical:
        test, batches = loaded.split("test"), loaded.batches()
        chosen = experts if experts is not None else demo_experts(model)
        result["experts"] = [{"label": ", ".join(classes), **expert_report(model, list(classes), test,
                                                                            batches)} for classes in chosen]
        result["attention"] = [attention_sweep(model, batches, protocol, gains, reliability).as_dict()
                               for protocol in PROTOCOLS]
        result["tree"] = node_cost_tree(model)
    if family.routed:
        stats, info = routes_of_run(loaded)
        result["routes"], result["path_params"] = stats.as_dict(), info["params"]
    return result


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _m(macs: float) -> str:
    return f"{macs / 1e6:,.2f} M"


def accuracy_of(run: dict[str, Any]) -> tuple[float, float | None]:
    """A run's test accuracy and, for a model with several seeds, the mean and sample std over them."""
    seeds = run.get("seeds")
    if seeds is None or seeds["n"] < 2:
        return run["eval"]["accuracy"], None
    return seeds["test_accuracy"]["mean"], seeds["test_accuracy"]["std"]


def scoring_of(run: dict[str, Any]) -> dict[str, Any] | None:
    """The images a run (a model over seeds: its seeds' summaries) was scored and selected on, None if its
    analysis does not record them (made by an earlier condnet)."""
    scoring, seeds = run.get("scoring"), run.get("seeds") or {}
    if scoring is None:
        return None
    return {**scoring, "dataset": seeds.get("dataset", scoring["dataset"]),
            "test_n": seeds.get("test_n", scoring["test_n"])}


def _test_images(scoring: dict[str, Any] | None) -> str:
    if scoring is None:
        return "test images this analysis does not record (made by an earlier condnet)"
    if scoring["limit_test"] is None:
        return f"the {scoring['test_n']:,} test images of {scoring['dataset']}"
    return (f"the first {scoring['test_n']:,} test images of {scoring['dataset']} "
            f"(data.limit_test {scoring['limit_test']:,})")


def _selection(scoring: dict[str, Any] | None) -> str:
    if scoring is None:
        return "selected on an unrecorded split"
    if scoring["val_n"] == 0:
        return "taken at their last epoch (no validation split: data.val_size 0)"
    return f"selected on the validation split ({scoring['val_n']:,} images)"


def _grouped(runs: Sequence[dict[str, Any]],
             describe: Callable[[dict[str, Any] | None], str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for r in runs:
        groups.setdefault(describe(scoring_of(r)), []).append(r["label"])
    return groups


def scoring_note(runs: Sequence[dict[str, Any]]) -> str:
    """What the accuracies are on and how the checkpoints were chosen, from the runs themselves; where runs
    differ, which run is on what."""
    tests, selections = _grouped(runs, _test_images), _grouped(runs, _selection)
    if len(tests) == 1:
        text = f"All accuracies are on {next(iter(tests))}."
    else:
        text = ("Accuracies are on different test images, not comparable between these groups: "
                + "; ".join(f"{t} for {', '.join(labels)}" for t, labels in tests.items()) + ".")
    if len(selections) == 1:
        return text + f" Models {next(iter(selections))}."
    return text + " Models " + "; ".join(f"{s} for {', '.join(labels)}"
                                         for s, labels in selections.items()) + "."


def own_test_images(runs: Sequence[dict[str, Any]]) -> list[str | None] | None:
    """None when every run was scored on the same test images; else per run the images it was scored on
    (``10,000 fashion_mnist``), None for a run whose analysis does not record them."""
    if len(_grouped(runs, _test_images)) == 1:
        return None
    return [describe_test_set(s["dataset"], s["test_n"]) if (s := scoring_of(r)) else None for r in runs]


def models_table(runs: Sequence[dict[str, Any]]) -> str:
    """The main table: every run's test accuracy (mean ± std over seeds), MACs per sample and parameters;
    when runs were scored on different test images, every accuracy names its own."""
    reference = max(r["eval"]["macs_per_sample"] for r in runs)
    own = own_test_images(runs)
    rows = []
    for i, r in enumerate(runs):
        ev = r["eval"]
        macs = ev.get("macs", {})
        spread = f" ({_m(macs['min'])}–{_m(macs['max'])})" if macs and macs["min"] != macs["max"] else ""
        accuracy, std = accuracy_of(r)
        unfinished = len(r.get("seeds", {}).get("unfinished", []))
        notes = ([] if std is None else [f"{r['seeds']['n']} seeds"]) + \
            ([f"{unfinished} unfinished not counted"] if unfinished else []) + \
            ([f"{own[i]} test images"] if own and own[i] else [])
        shown = f"{accuracy:.2f}" + ("" if std is None else f" ± {std:.2f}") + \
            (f" ({'; '.join(notes)})" if notes else "")
        rows.append([r["label"], ev["model"], r["kind"], shown, _m(ev["macs_per_sample"]) + spread,
                     f"{100 * ev['macs_per_sample'] / reference:.1f}%", f"{ev['params']:,}"])
    return _table(["run", "model", "kind", "test accuracy (%)", "MACs/sample (min–max)", "MACs vs largest",
                   "params"], rows)


def experts_table(run: dict[str, Any]) -> str:
    rows = []
    for e in run["experts"]:
        rows.append([e["label"], f"{e['expert']['params']:,}", _m(e["expert"]["macs"]),
                     f"{e['reduction_vs_full']['params']:.1f}% / {e['reduction_vs_full']['macs']:.1f}%",
                     f"{e['reduction_vs_backbone']['params']:.1f}% / "
                     f"{e['reduction_vs_backbone']['macs']:.1f}%",
                     f"{e['expert_accuracy']:.2f}", f"{e['full_accuracy']:.2f}", e["n"]])
    return _table(["expert", "params", "MACs/sample", "saved vs full HNN (params / MACs)",
                   "saved vs backbone (params / MACs)", "expert accuracy (%)", "full HNN on same images (%)",
                   "test images"], rows)


def attention_table(run: dict[str, Any]) -> str:
    """Per protocol: no signal, the cued node's expert, and per gain feature attention / evidence prior."""
    sweeps = run["attention"]
    header = ["protocol", "no signal", "cued node's expert"] + [f"gain {g:g}" for g in sweeps[0]["gains"]]
    rows = [[s["protocol"] + (f" (p={s['reliability']})" if s["reliability"] is not None else ""),
             f"{s['no_signal_accuracy']:.2f}", f"{s['ceiling_accuracy']:.2f}"]
            + [f"{a:.2f} / {e:.2f}" for a, e in zip(s["accuracy"], s["evidence_accuracy"], strict=True)]
            for s in sweeps]
    return _table(header, rows)


def routes_table(runs: Sequence[dict[str, Any]]) -> str:
    rows = [[r["label"], f"{r['routes']['mutual_information']:.3f}", f"{r['routes']['route_entropy']:.3f}",
             ", ".join(f"{max(v, 0.0):.3f}" for v in r["routes"]["layer_mutual_information"])] for r in runs]
    return _table(["run", "I(path; class) (nats)", "H(path) (nats)", "I(block; class) per layer"], rows)


def path_table(run: dict[str, Any]) -> str:
    stats = run["routes"]
    rows = [[name] + counts for name, counts in zip(stats["class_names"], stats["path_counts_by_class"],
                                                          strict=True)]
    return _table(["class"] + [f"path {p}" for p in stats["path_names"]], rows)


def speed_table(rows: Sequence[dict[str, Any]]) -> str:
    """Median latency per model at each runtime and batch size, with the speed-up against the first model
    (onnxruntime, largest batch) and its MAC ratio."""
    keys = list(dict.fromkeys((r["runtime"], r["batch"]) for r in rows))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    cell = {(r["label"], r["runtime"], r["batch"]): r for r in rows}
    last = keys[-1]
    table = []
    for label in labels:
        medians = [cell[(label, *k)]["median_ms"] for k in keys]
        ref = cell[(label, *last)]
        table.append([label] + [f"{m:.3f}" if m is not None else "n/a" for m in medians] +
                     [f"{ref['speedup']:.2f}x" if ref["speedup"] else "n/a", f"{ref['mac_ratio']:.2f}x"])
    notes = sorted({f"{r['label']}: {r['note']}" for r in rows if r["note"]})
    return _table(["model"] + [f"{rt} batch {b} (ms)" for rt, b in keys] +
                  [f"speed-up ({last[0]}, batch {last[1]})", "MAC ratio"], table) + (
        "\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")


def pareto_points(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The figure's points; when runs were scored on different test images, each model's names them."""
    own = own_test_images(runs)
    points = [{"label": r["label"], "macs": r["eval"]["macs_per_sample"], "accuracy": accuracy_of(r)[0],
               "accuracy_std": accuracy_of(r)[1], "kind": r["kind"],
               **({"test_images": own[i] or "unrecorded"} if own else {})} for i, r in enumerate(runs)]
    for r in runs:
        points += [{"label": e["label"], "macs": e["expert"]["macs"],
                    "accuracy": e["expert_accuracy"], "kind": "expert"} for e in r.get("experts", [])]
    return points


def write_report(runs: Sequence[dict[str, Any]], out: str | Path, title: str = "condnet report",
                 commands: Sequence[str] = (), speed: Sequence[dict[str, Any]] = ()) -> Path:
    """Write ``out/report.md`` and its figures (``out/figures/*.png``) from :func:`analyse_run` results and,
    when given, :func:`~condnet.analysis.speed.speed_of_runs` timings."""
    out = Path(out)
    figures = out / "figures"
    seeds_note = (" A model with several seeds shows the mean ± sample std of their test accuracies (error "
                  "bars in the figure); its other numbers are those of its first seed."
                  if any(accuracy_of(r)[1] is not None for r in runs) else "")
    pareto = plot_pareto(pareto_points(runs), figures / "pareto.png").relative_to(out)
    parts = [f"# {title}", "", (scoring_note(runs) + " MACs per sample count convolutions, linear layers "
             "and matrix products that actually ran (routers and heads included; BatchNorm, activations and "
             "pooling not counted)." + seeds_note), "",
             "## Models", "", models_table(runs), "", f"![accuracy against MACs]({pareto})",
             "", "Experts are scored on the test images of their own classes (argmax over their classes)."]
    for r in runs:
        if "experts" in r:
            name, label = r["name"], r["label"]
            savings = plot_savings(r["experts"], figures / f"savings_{name}.png").relative_to(out)
            parts += ["", f"## Cutout experts of {label}", "", experts_table(r), "",
                      f"![expert savings]({savings})", "", f"## Top-down attention on {label}", "",
                      ("Cues name a node of the tree's first level (clothing, footwear, Bag for "
                       "Fashion-MNIST): the image's own node, or for the noisy cue another node with "
                       "probability 1 - p. Per gain: feature attention / the evidence prior (a baseline); "
                       "the cued node's expert is the ceiling (`condnet attend --level` for other levels)."),
                      "",
                      attention_table(r), ""]
            sweeps = [Sweep(**s) for s in r["attention"]]
            plot_sweeps(sweeps, figures / f"attention_{name}.png", title=f"top-down attention: {label}")
            parts += [f"![attention curves](figures/attention_{name}.png)", "",
                      f"## Hierarchy of {label}", "",
                      f"![hierarchy]({plot_tree(r['tree'], figures / f'tree_{name}.png').relative_to(out)})"]
    routed = [r for r in runs if "routes" in r]
    if routed:
        parts += ["", "## CIGT routing", "", routes_table(routed)]
        for r in routed:
            image = plot_routes(RouteStats(**r["routes"]),
                                figures / f"routes_{r['name']}.png").relative_to(out)
            parts += ["", f"### {r['label']}: test images per class and leaf path", "", path_table(r), "",
                      f"![routes of {r['name']}]({image})"]
    if speed:
        parts += ["", "## Measured speed", "", ("Median latency over interleaved rounds, 1 thread, on test "
                  "images (`condnet bench`); speed-up and MAC ratio against the first model."), "",
                  speed_table(speed)]
    if commands:
        parts += ["", "## Reproduce", "", "```", *commands, "```"]
    path = out / "report.md"
    write_text_atomic(path, "\n".join(parts) + "\n")
    return path
