"""The run directory: config.yaml, metrics.jsonl, checkpoints/{last,best}.pt and summary.json."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from condnet.errors import CondnetError


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


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
