"""``condnet compare``: test accuracy (mean ± std over seeds), MACs and params of models, and Welch's t-test
between them."""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from condnet.analysis.seeds import compare, describe_test_set, model_runs
from condnet.cli.output import print_json
from condnet.errors import CondnetError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="test accuracy over seeds (mean ± std), MACs and params of models, "
                                       "with Welch's t-test between them")
    p.add_argument("paths", nargs="+", metavar="RUN_OR_DIR",
                   help="a run directory (one run) or a directory of runs of one config (seeds --out)")
    p.add_argument("--labels", help="comma-separated names of the models (default: the directory names)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _labels(text: str | None, count: int) -> list[str | None]:
    if text is None:
        return [None] * count
    labels: list[str | None] = [label.strip() for label in text.split(",")]
    if len(labels) != count or not all(labels):
        raise CondnetError(f"--labels needs {count} non-empty comma-separated names, one per argument; got "
                           f"{text!r}")
    return labels


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as aligned text: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                      for i, (cell, w) in enumerate(zip(row, widths, strict=True))) for row in rows]


def format_comparison(result: dict[str, Any]) -> str:
    """:func:`~condnet.analysis.seeds.compare`'s result as a table, then the p-values against the first
    model (n/a with the reason where there is none)."""
    rows = [["model", "n", "test accuracy (%)", "min", "max", "test images", "MACs/sample", "params"]]
    for m in result["models"]:
        acc = m["test_accuracy"]
        spread = f" ± {acc['std']:.2f}" if acc["std"] is not None else " ± -"
        rows.append([m["label"], str(m["n"]), f"{acc['mean']:.2f}{spread}", f"{acc['min']:.2f}",
                     f"{acc['max']:.2f}", describe_test_set(m["dataset"], m["test_n"]),
                     f"{m['macs_per_sample'] / 1e6:,.2f} M", f"{m['params']:,}"])
    lines = _columns(rows)
    lines += [f"not counted: {m['label']}/{Path(run).name} has not finished" for m in result["models"]
              for run in m["unfinished"]]
    if len({(m["dataset"], m["test_n"]) for m in result["models"]}) > 1:
        lines.append("not comparable: the models were not all scored on the same test images (see test "
                     "images); no p-value between models scored on different ones")
    first, *others = result["models"]
    if others:
        pairs = {pair["b"]: pair for pair in result["welch_p"] if pair["a"] == first["label"]}
        width = max(len(m["label"]) for m in others)
        lines += ["", f"Welch's t-test on test accuracy, p-value against {first['label']}:"]
        for m in others:
            pair = pairs[m["label"]]
            shown = f"n/a ({pair['reason']})" if pair["p"] is None else f"{pair['p']:.3g}"
            lines.append(f"  {m['label']:<{width}}  {shown}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    labels = _labels(args.labels, len(args.paths))
    models = [model_runs(path, label) for path, label in zip(args.paths, labels, strict=True)]
    names = [m.label for m in models]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise CondnetError(f"two models are labelled {twice[0]!r}; name them with --labels a,b,...")
    result = compare(models)
    if args.json:
        print_json(result)
    else:
        print(format_comparison(result))
    return 0
