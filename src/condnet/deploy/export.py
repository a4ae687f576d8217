"""Export a trained model to ONNX (torch.onnx's dynamo exporter) or pt2 (torch.export), then verify it.

The exported graph is that of :func:`~condnet.deploy.inference.inference_copy` (BatchNorm folded, an
HNN's siblings fused), with a dynamic batch dimension. Its input is ``images`` (see
``metadata.INPUT_HELP``); its outputs are ``logits`` in the order of the metadata's ``class_indices``
and, for a routed model, ``routes`` (the block index of every layer). A routed model keeps conditional
execution: a block runs only on the samples routed to it. The file is written beside the target under a
temporary name, verified against PyTorch on real images, and renamed over the target only when every
logit agrees within ``TOLERANCE``; otherwise nothing is left behind and the export is an error.
"""

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from condnet.deploy.inference import inference_copy
from condnet.deploy.metadata import as_strings
from condnet.deploy.runtime import run_export
from condnet.errors import CondnetError
from condnet.files import atomic_path
from condnet.models.registry import routes_at_random

FORMATS = ("onnx", "pt2")
TOLERANCE = 1e-4
METADATA_FILE = "condnet.json"  # inside a .pt2 archive (torch.export.save's extra_files)


class ExportForward(nn.Module):
    """The exported forward: logits, and for a routed model also its routes."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.routed = hasattr(model, "sample_macs")

    def forward(self, images: torch.Tensor) -> Any:
        if self.routed:
            return self.model(images, return_routes=True)
        return self.model(images)


def format_of(path: str | Path, fmt: str | None) -> str:
    """The export format: ``fmt``, else the file's suffix (.onnx or .pt2); a mismatch is an error."""
    suffix = Path(path).suffix.lstrip(".").lower()
    chosen = fmt or (suffix if suffix in FORMATS else "onnx")
    if chosen not in FORMATS:
        raise CondnetError(f"--format must be one of {', '.join(FORMATS)}, got {chosen!r}")
    if suffix in FORMATS and suffix != chosen:
        raise CondnetError(f"--out {path} ends in .{suffix} but --format is {chosen}; make them agree")
    return chosen


def check_exportable(model: nn.Module) -> None:
    """Refuse what no format can express exactly."""
    if routes_at_random(model):
        raise CondnetError(
            "a randomly routed trellis (routing: random) draws its routes at run time; an export "
            "could not reproduce them, so it is refused: export a trained (ig-routed) CIGT"
        )


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporters' notes to developers (deprecations, optional torchvision ops) on stderr."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_program(
    model: nn.Module, example: torch.Tensor, runtime: str = "eager"
) -> torch.export.ExportedProgram:
    """torch.export of the inference copy of ``model`` (planned for ``runtime``) with a dynamic batch
    dimension."""
    check_exportable(model)
    forward = ExportForward(inference_copy(model, runtime)).eval()
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    try:
        with torch.no_grad(), _quiet_exporter():
            return torch.export.export(forward, (example,), dynamic_shapes=({0: batch},), strict=False)
    except Exception as exc:  # torch's export errors are long; the first line says what failed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CondnetError(
            f"torch.export cannot export this model ({first[:300]}); nothing was written"
        ) from None


def _write_onnx(
    program: torch.export.ExportedProgram, routed: bool, path: Path, metadata: dict[str, Any]
) -> None:
    import onnx

    outputs = ["logits", "routes"] if routed else ["logits"]
    with _quiet_exporter():
        onnx_program = torch.onnx.export(
            program, (), input_names=["images"], output_names=outputs, dynamo=True, verbose=False
        )
    onnx_program.save(str(path))
    proto = onnx.load(str(path))
    for key, value in as_strings(metadata).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def _write_pt2(program: torch.export.ExportedProgram, path: Path, metadata: dict[str, Any]) -> None:
    torch.export.save(program, str(path), extra_files={METADATA_FILE: json.dumps(metadata)})


@dataclass
class ExportReport:
    """What was written and how well it agrees with PyTorch."""

    path: str
    format: str
    max_abs_diff: float
    batches: list[int]
    routes_equal: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": self.path,
            "format": self.format,
            "max_abs_diff": self.max_abs_diff,
            "verified_batches": self.batches,
            "routes_equal": self.routes_equal,
        }


@torch.no_grad()
def export_model(
    model: nn.Module, out: str | Path, fmt: str, metadata: dict[str, Any], images: list[torch.Tensor]
) -> ExportReport:
    """Export ``model`` (eval mode) to ``out`` and verify it on each batch of ``images`` (real, normalised);
    the file appears only if every batch agrees within ``TOLERANCE``."""
    model = model.eval()
    out = Path(out)
    example = images[0][:2] if len(images[0]) >= 2 else torch.cat([images[0]] * 2)
    program = export_program(model, example, "onnx" if fmt == "onnx" else "eager")
    routed = hasattr(model, "sample_macs")
    with atomic_path(out, suffix=f".{fmt}") as tmp:  # torch.export.load wants a name ending in .pt2
        if fmt == "onnx":
            _write_onnx(program, routed, tmp, metadata)
        else:
            _write_pt2(program, tmp, metadata)
        worst, routes_equal = 0.0, True if routed else None
        for x in images:
            expected = ExportForward(model)(x)
            got = run_export(tmp, fmt, x)
            expected_logits = expected[0] if routed else expected
            worst = max(worst, float((got[0] - expected_logits).abs().max()) if len(x) else 0.0)
            if routed:
                routes_equal = routes_equal and torch.equal(got[1], expected[1])
        if worst > TOLERANCE or routes_equal is False:
            raise CondnetError(
                f"the {fmt} export disagrees with PyTorch (max abs logit difference {worst:.3g}, "
                f"routes equal: {routes_equal}); nothing was written"
            )
    return ExportReport(str(out), fmt, worst, [len(x) for x in images], routes_equal)
