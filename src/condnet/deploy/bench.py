"""Latency of models side by side: one process, a fixed number of threads, interleaved rounds, medians.

Every round times one call of every model, in an order that rotates from round to round, on a batch of
its own real inputs (routed models' cost depends on the images); the figures are the median and the
interquartile range over rounds, next to the mean MACs per sample on the images used. Ratios are
against the first model: its latency over each model's latency (speed-up) and its MACs over each
model's MACs. This is what ``condnet bench`` prints and what the benchmarks under ``benchmarks/`` use.
"""

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from condnet.deploy.export import export_model
from condnet.deploy.inference import inference_copy
from condnet.deploy.metadata import deployment_metadata
from condnet.deploy.runtime import onnx_runner
from condnet.errors import CondnetError
from condnet.models import create_model
from condnet.train.loading import load_run
from condnet.train.summary import model_macs

RUNTIMES = ("eager", "onnx")


@dataclass
class BenchModel:
    """A model to time: its label, the eval-mode module, a pool of inputs and its mean MACs on them."""

    label: str
    model: nn.Module
    images: torch.Tensor
    macs: float
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timing:
    """One model at one runtime and batch size."""

    label: str
    runtime: str
    batch: int
    median_ms: float | None
    iqr_ms: float | None
    images_per_second: float | None
    macs: float
    speedup: float | None  # first model's median latency / this one's
    mac_ratio: float  # first model's MACs / this one's
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bench_model(target: str | Path, pool: int, label: str | None = None) -> BenchModel:
    """A trained run or expert with its first ``pool`` test images, or a registered model name with seeded
    random inputs."""
    if Path(target).exists():
        loaded = load_run(target)
        images = loaded.test_images(pool)
        macs = model_macs(loaded.model, images)
        return BenchModel(label or str(target), loaded.model, images, macs["mean"],
                          deployment_metadata(loaded.model, loaded.config, macs))
    model = create_model(str(target)).eval()
    cfg = model.condnet_config
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(pool, cfg["in_channels"], cfg["input_size"], cfg["input_size"], generator=generator)
    return BenchModel(label or str(target), model, images, model_macs(model, images)["mean"],
                      {"model_name": str(target)})


def with_expert(full: BenchModel, classes: Sequence[str]) -> BenchModel:
    """An expert cut out of the HNN of ``full``, timed on the same images."""
    expert = full.model.cutout(list(classes)).eval()
    metadata = {**full.metadata, "class_indices": expert.output_classes}
    macs = model_macs(expert, full.images)["mean"]
    return BenchModel(", ".join(classes), expert, full.images, macs, metadata)


def _batch(images: torch.Tensor, size: int, round_index: int) -> torch.Tensor:
    """``size`` images of the pool, starting at a different place each round."""
    if len(images) < size:
        images = images.repeat((size + len(images) - 1) // len(images), 1, 1, 1)
    start = (round_index * size) % (len(images) - size + 1)
    return images[start : start + size]


def _eager_call(model: nn.Module) -> Callable[[torch.Tensor], Any]:
    def call(x: torch.Tensor) -> Any:
        with torch.inference_mode():
            return model(x)

    return call


def _onnx_calls(models: Sequence[BenchModel], threads: int, folder: Path) -> list[Callable | str]:
    """An onnxruntime call per model, or the reason it cannot be exported."""
    calls: list[Callable | str] = []
    for i, m in enumerate(models):
        path = folder / f"model{i}.onnx"
        try:
            export_model(m.model, path, "onnx", m.metadata, [m.images[:1], m.images[:3]])
        except CondnetError as exc:
            calls.append(str(exc).split(";")[0])
            continue
        run = onnx_runner(path, threads)
        calls.append(lambda x, run=run: run(x.numpy()))
    return calls


def _median_iqr(samples: list[float]) -> tuple[float, float]:
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return float(median) * 1e3, float(q3 - q1) * 1e3


def time_side_by_side(
    models: Sequence[BenchModel],
    runtimes: Sequence[str] = ("eager",),
    batches: Sequence[int] = (1, 64),
    threads: int = 1,
    rounds: int = 30,
    warmup: int = 3,
) -> list[Timing]:
    """Median latency of every model at every runtime and batch size, measured interleaved."""
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise CondnetError(f"unknown runtime {unknown[0]!r}; choose from {', '.join(RUNTIMES)}")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows: list[Timing] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for runtime in runtimes:
                calls = (
                    [_eager_call(inference_copy(m.model)) for m in models]
                    if runtime == "eager"
                    else _onnx_calls(models, threads, Path(folder))
                )
                for batch in batches:
                    rows += _time_batch(models, calls, runtime, batch, rounds, warmup)
    finally:
        torch.set_num_threads(previous)
    return rows


def _time_batch(
    models: Sequence[BenchModel],
    calls: list[Callable | str],
    runtime: str,
    batch: int,
    rounds: int,
    warmup: int,
) -> list[Timing]:
    live = [i for i, c in enumerate(calls) if callable(c)]
    samples: dict[int, list[float]] = {i: [] for i in live}
    for r in range(-warmup, rounds):
        order = live[r % len(live) :] + live[: r % len(live)] if live else []
        for i in order:
            x = _batch(models[i].images, batch, r)
            tic = time.perf_counter()
            calls[i](x)
            if r >= 0:
                samples[i].append(time.perf_counter() - tic)
    stats = {i: _median_iqr(s) for i, s in samples.items()}
    first = stats.get(0, (None, None))[0]
    rows = []
    for i, m in enumerate(models):
        median, iqr = stats.get(i, (None, None))
        throughput = batch / median * 1e3 if median else None
        rows.append(
            Timing(
                m.label,
                runtime,
                batch,
                median,
                iqr,
                throughput,
                m.macs,
                first / median if first and median else None,
                models[0].macs / m.macs,
                "" if callable(calls[i]) else calls[i],
            )
        )
    return rows


def format_timings(rows: Sequence[Timing]) -> str:
    """The timings as an aligned text table, one block per runtime and batch size."""
    width = max(len(r.label) for r in rows)
    lines = []
    for key in dict.fromkeys((r.runtime, r.batch) for r in rows):
        lines.append(f"{key[0]}, batch {key[1]}:")
        lines.append(
            f"  {'model':<{width}} {'median ms':>10} {'IQR ms':>8} {'img/s':>9} {'MACs/sample':>13} "
            f"{'speed-up':>8} {'MAC ratio':>9}"
        )
        for r in (r for r in rows if (r.runtime, r.batch) == key):
            if r.median_ms is None:
                lines.append(f"  {r.label:<{width}} {'n/a':>10}  ({r.note})")
                continue
            lines.append(
                f"  {r.label:<{width}} {r.median_ms:>10.3f} {r.iqr_ms:>8.3f} "
                f"{r.images_per_second:>9.0f} {r.macs:>13,.0f} {r.speedup:>7.2f}x {r.mac_ratio:>8.2f}x"
            )
    return "\n".join(lines)
