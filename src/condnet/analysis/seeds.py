"""Runs of one model over several seeds: finding them, and the statistics that compare models.

A model is one run directory (one sample) or a directory of run directories of one config apart from
``train.seed`` (what ``condnet seeds`` writes), each of its own seed, all scored on the same test images.
Test accuracy is summarised by mean, sample standard deviation (ddof=1), min and max; two models scored on
the same test images are compared with Welch's t-test (unequal variances).
"""

import math
import re
import statistics
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from scipy import stats

from condnet.errors import RunDirError
from condnet.train.rundir import RunDir

SUMMARY_KEYS = ("test_accuracy", "macs_per_sample", "params")


@dataclass(frozen=True)
class Stats:
    """n, mean, sample standard deviation (None for one value), min and max of a sample."""

    n: int
    mean: float
    std: float | None
    min: float
    max: float


def summarise(values: Sequence[float]) -> Stats:
    """The :class:`Stats` of a non-empty sample."""
    if not values:
        raise ValueError("summarise needs at least one value")
    std = statistics.stdev(values) if len(values) > 1 else None
    return Stats(len(values), statistics.fmean(values), std, min(values), max(values))


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test between two samples; None when either has fewer than two values
    or neither has any spread (both constant: the test is undefined, though scipy gives p = 0 for different
    means and nan for equal ones)."""
    if len(a) < 2 or len(b) < 2:
        return None
    if min(a) == max(a) and min(b) == max(b):
        return None
    with warnings.catch_warnings():  # scipy warns of precision loss for (nearly) constant samples
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return None if math.isnan(p) else p


def config_differences(a: dict[str, Any], b: dict[str, Any], ignore: Iterable[str] = ()) -> list[str]:
    """The ``section.key`` names (or whole sections) in which two config mappings differ."""
    ignored, differing = set(ignore), []
    for section in dict.fromkeys([*a, *b]):
        x, y = a.get(section), b.get(section)
        if not (isinstance(x, dict) and isinstance(y, dict)):
            if x != y:
                differing.append(section)
            continue
        keys = (f"{section}.{k}" for k in dict.fromkeys([*x, *y]) if x.get(k) != y.get(k))
        differing += [key for key in keys if key not in ignored]
    return differing


def _natural_key(path: Path) -> list[Any]:
    """seed-2 before seed-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _subdirectories(path: Path) -> list[Path]:
    """The subdirectories of ``path``, in natural order."""
    return sorted((p for p in path.iterdir() if p.is_dir()), key=_natural_key)


def is_seeds_dir(path: str | Path) -> bool:
    """Whether ``path`` is a directory of runs rather than a run directory itself."""
    return Path(path).is_dir() and not RunDir(path).exists()


def finished_runs(path: str | Path) -> list[Path]:
    """The finished runs ``path`` stands for: itself if it is a run directory, else its subdirectories that
    hold a finished run (summary.json), in natural order."""
    path = Path(path)
    if not path.is_dir():
        raise RunDirError(f"{path} is not a directory; pass a run directory or a directory of runs "
                          "(condnet seeds --out)")
    if not is_seeds_dir(path):
        RunDir(path).read_summary()  # says how to finish an unfinished run
        return [path]
    runs = [p for p in _subdirectories(path) if RunDir(p).summary.exists()]
    if not runs:
        raise RunDirError(f"{path} holds no finished run (no summary.json in it or its subdirectories); "
                          "pass a run directory or a directory made by condnet seeds")
    return runs


def unfinished_runs(path: str | Path) -> list[Path]:
    """The run directories in a directory of runs that have not finished (no summary.json), in natural
    order; none for a run directory itself."""
    if not is_seeds_dir(path):
        return []
    return [p for p in _subdirectories(Path(path)) if RunDir(p).exists() and not RunDir(p).summary.exists()]


def _checked_summary(run: RunDir) -> dict[str, Any]:
    summary = run.read_summary()
    for key in SUMMARY_KEYS:
        value = summary.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RunDirError(f"{run.summary} has no numeric {key}; it is damaged: restore it or train the "
                              "run again")
    test_n, dataset = summary.get("test_n"), summary.get("dataset")
    if isinstance(test_n, bool) or not isinstance(test_n, int) or test_n < 1 or not isinstance(dataset, str):
        raise RunDirError(f"{run.summary} does not say which test images the run was scored on (dataset and "
                          "test_n); it is damaged: restore it or train the run again")
    return summary


def describe_test_set(dataset: str, test_n: int) -> str:
    """The test images a run was scored on, as text: ``10,000 fashion_mnist``."""
    return f"{test_n:,} {dataset}"


def _seed_of(config: dict[str, Any]) -> Any:
    train = config.get("train")
    return train.get("seed") if isinstance(train, dict) else None


def _and(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths[:-1]) + f" and {paths[-1]}"


@dataclass(frozen=True)
class ModelRuns:
    """One model's finished runs (one per seed), their summaries, and its runs not yet finished (not
    counted)."""

    label: str
    paths: list[Path]
    summaries: list[dict[str, Any]]
    unfinished: tuple[Path, ...] = ()

    def values(self, key: str) -> list[float]:
        return [float(s[key]) for s in self.summaries]

    @property
    def test_set(self) -> tuple[str, int]:
        """The dataset and number of test images its runs were scored on (the same for every run)."""
        return self.summaries[0]["dataset"], self.summaries[0]["test_n"]


def load_runs(paths: Sequence[Path], label: str, unfinished: Sequence[Path] = ()) -> ModelRuns:
    """Finished runs of one model, refused if their configs differ in anything but ``train.seed``, if two of
    them have the same seed (one sample counted twice), or if they were scored on different test images
    (summary.json's ``dataset`` and ``test_n``); ``unfinished`` names the model's runs left out because they
    have not finished."""
    configs = [RunDir(p).read_config() for p in paths]
    for other, config in zip(paths[1:], configs[1:], strict=True):
        differing = config_differences(configs[0], config, ignore={"train.seed"})
        if differing:
            raise RunDirError(f"{other} differs from {paths[0]} in {differing[0]}; the runs of one model "
                              "must differ only in train.seed: pass them as separate arguments")
    by_seed: dict[Any, list[Path]] = {}
    for path, config in zip(paths, configs, strict=True):
        by_seed.setdefault(_seed_of(config), []).append(path)
    for seed, same in by_seed.items():
        if len(same) > 1:
            raise RunDirError(f"{_and(same)} have the same train.seed {seed}: they are one sample, not "
                              f"{len(same)}, and would make the std and p-values too small; keep one of "
                              f"them and remove the others or move them out of {same[0].parent}")
    runs = ModelRuns(label, list(paths), [_checked_summary(RunDir(p)) for p in paths], tuple(unfinished))
    for other, summary in zip(paths[1:], runs.summaries[1:], strict=True):
        test_set = summary["dataset"], summary["test_n"]
        if test_set != runs.test_set:
            raise RunDirError(f"{other} was scored on {describe_test_set(*test_set)} test images, {paths[0]} "
                              f"on {describe_test_set(*runs.test_set)}; the runs of "
                              "one model must be scored on the same test images: train the odd one again on "
                              "the same data, or pass them as separate arguments")
    return runs


def model_runs(path: str | Path, label: str | None = None) -> ModelRuns:
    """The model at ``path`` (see :func:`finished_runs`; :func:`unfinished_runs` are named, not counted);
    ``label`` defaults to the directory name."""
    return load_runs(finished_runs(path), label or Path(path).resolve().name, unfinished_runs(path))


def welch_pair(a: ModelRuns, b: ModelRuns) -> dict[str, Any]:
    """Welch's t-test p-value of two models' test accuracies, or None and the reason there is none: scored
    on different test images (their accuracies are not comparable), fewer than two runs in a model, or no
    spread in either."""
    pair: dict[str, Any] = {"a": a.label, "b": b.label, "p": None, "reason": None}
    x, y = a.values("test_accuracy"), b.values("test_accuracy")
    if a.test_set != b.test_set:
        pair["reason"] = (f"scored on other test images: {describe_test_set(*b.test_set)} against "
                          f"{describe_test_set(*a.test_set)}")
    elif min(len(x), len(y)) < 2:
        pair["reason"] = "needs 2 runs per model"
    else:
        pair["p"] = welch_p(x, y)
        pair["reason"] = None if pair["p"] is not None else "no spread in either model"
    return pair


def compare(models: Sequence[ModelRuns]) -> dict[str, Any]:
    """Per model: its runs, n, the test images they were scored on (dataset, test_n), test accuracy
    statistics, mean MACs per sample, params and the runs not counted because they have not finished;
    Welch's t-test p-value of test accuracy for every pair of models (None, with the reason, where there
    is none: see :func:`welch_pair`)."""
    rows = [{"label": m.label, "runs": [str(p) for p in m.paths], "n": len(m.paths),
             "unfinished": [str(p) for p in m.unfinished],
             "dataset": m.test_set[0], "test_n": m.test_set[1],
             "test_accuracy": asdict(summarise(m.values("test_accuracy"))),
             "macs_per_sample": statistics.fmean(m.values("macs_per_sample")),
             "params": m.summaries[0]["params"]} for m in models]
    return {"models": rows, "welch_p": [welch_pair(a, b) for a, b in combinations(models, 2)]}
