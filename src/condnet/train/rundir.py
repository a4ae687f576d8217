"""The run directory: config.yaml, metrics.jsonl, checkpoints/{last,best}.pt and summary.json."""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from condnet.errors import CondnetError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it over ``path`` (permissions as for a
    plain ``open``, i.e. 0666 minus the umask), on failure delete it: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file via a temporary file and a rename."""
    with atomic_file(path) as handle:
        handle.write(text)


class RunDir:
    """Paths and small I/O helpers of one run directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.metrics = self.root / "metrics.jsonl"
        self.last = self.root / "checkpoints" / "last.pt"
        self.best = self.root / "checkpoints" / "best.pt"
        self.summary = self.root / "summary.json"

    def exists(self) -> bool:
        return self.config.exists()

    def write_config(self, config: dict[str, Any]) -> None:
        write_text_atomic(self.config, yaml.safe_dump(config, sort_keys=False))

    def read_config(self) -> dict[str, Any]:
        return yaml.safe_load(self.config.read_text())

    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.metrics, "a") as handle:
            handle.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        """The complete lines; text after the last newline is a write cut short by a kill, and is skipped."""
        if not self.metrics.exists():
            return []
        return [json.loads(line) for line in self.metrics.read_text().split("\n")[:-1] if line.strip()]

    def truncate_metrics(self, epochs_done: int) -> None:
        """Keep only the metric lines of epochs a checkpoint holds (after an interrupted run)."""
        kept = [r for r in self.read_metrics() if r["epoch"] <= epochs_done]
        write_text_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in kept))

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_text_atomic(self.summary, json.dumps(summary, indent=2) + "\n")

    def read_summary(self) -> dict[str, Any]:
        if not self.summary.exists():
            raise CondnetError(f"{self.root} has no summary.json; the run has not finished (resume it with "
                               f"condnet train --out {self.root} --resume)")
        return json.loads(self.summary.read_text())
