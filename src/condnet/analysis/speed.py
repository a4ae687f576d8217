"""Measured speed of trained runs and their experts, eager PyTorch and onnxruntime, side by side."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from condnet.deploy.bench import bench_model, time_side_by_side, with_expert

SPEED_BATCHES = (1, 64)


def speed_of_runs(runs: Sequence[tuple[str, Path]], hnn: str | None = None,
                  experts: Sequence[Sequence[str]] = (), rounds: int = 20) -> list[dict[str, Any]]:
    """Timings (``condnet bench``'s rows, 1 thread) of every (label, run directory) and of the ``experts``
    cut out of the run labelled ``hnn``, on the runs' test images; ratios against the first run."""
    models = [bench_model(path, 2 * max(SPEED_BATCHES), label) for label, path in runs]
    full = next((m for m in models if m.label == hnn), None)
    if full is not None:
        models += [with_expert(full, names) for names in experts]
    rows = time_side_by_side(models, ["eager", "onnx"], SPEED_BATCHES, threads=1, rounds=rounds)
    return [r.as_dict() for r in rows]
