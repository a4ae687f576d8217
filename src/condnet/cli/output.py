"""Shared CLI helpers: options every command spells the same way, printing JSON, parsing lists."""

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from condnet.errors import CondnetError
from condnet.files import check_output_file, json_text


def add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")


def add_force_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace output files that already exist")


def add_plot_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--plot", metavar="FILE.png", help=f"write {what} to this image (png, pdf, svg, ...)")


def check_plot_path(path: str | None, force: bool, reading: Iterable[str | Path] = ()) -> None:
    """Refuse a ``--plot`` file before any work: an unsupported suffix, or an output check failing."""
    if path is None:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise CondnetError(f"--plot {path}: unsupported image type {suffix or '(no suffix)'!r}; end the name "
                           f"with one of {', '.join('.' + f for f in sorted(formats))}")
    check_output_file(path, force, reading, "--plot")


def print_json(obj: dict[str, Any]) -> None:
    """Print one JSON object (non-finite floats become null)."""
    print(json_text(obj, indent=2))


def parse_int_list(text: str, what: str, length: int | None = None) -> list[int]:
    """Parse ``"1,28,28"``; errors name the option and the expected form."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise CondnetError(f"{what} must be comma-separated integers, got {text!r}") from None
    if length is not None and len(values) != length:
        raise CondnetError(f"{what} needs {length} comma-separated integers, got {text!r}")
    return values
