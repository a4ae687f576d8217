"""The run directory: config.yaml, run.json, metrics.jsonl, checkpoints/{last,best}.pt and summary.json.

- ``run.json`` holds the run's identity: a run id drawn when the run starts (every checkpoint carries
  it) and the SHA-256 of the resolved config, so that a resume notices a foreign checkpoint or an
  edited config.yaml.
- ``.lock`` is locked (``fcntl.flock``) by the one process that writes the directory; the kernel drops
  the lock when that process ends, however it ends, so a killed run never blocks its resume. While held
  it names the holder; it is emptied on release.
"""

import fcntl
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import yaml

from condnet.errors import RunDirError
from condnet.files import json_text, read_data_file, read_text_file, remove_temp_files, write_text_atomic


def text_digest(text: str) -> str:
    """SHA-256 of a text (config.yaml as written)."""
    return hashlib.sha256(text.encode()).hexdigest()


class RunDir:
    """Paths and small I/O helpers of one run directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.identity = self.root / "run.json"
        self.metrics = self.root / "metrics.jsonl"
        self.last = self.root / "checkpoints" / "last.pt"
        self.best = self.root / "checkpoints" / "best.pt"
        self.summary = self.root / "summary.json"
        self.lock_file = self.root / ".lock"

    def exists(self) -> bool:
        return self.config.exists()

    def read_config(self) -> dict[str, Any]:
        raw = read_data_file(self.config, "run config")
        if not isinstance(raw, dict):
            raise RunDirError(f"{self.config} is damaged (not a YAML mapping); restore it or start a new run")
        return raw

    def config_edited(self) -> bool:
        """Whether config.yaml differs from the text the run started with (False for runs without
        run.json)."""
        identity = self.read_identity()
        return identity is not None and identity.get("config_sha256") != text_digest(
            read_text_file(self.config, "run config"))

    def start(self, config: dict[str, Any]) -> str:
        """Write config.yaml and run.json with a new run id; returns the id."""
        run_id, text = uuid.uuid4().hex, yaml.safe_dump(config, sort_keys=False)
        write_text_atomic(self.config, text)
        write_text_atomic(self.identity, json_text({"run_id": run_id, "config_sha256": text_digest(text)},
                                                   indent=2) + "\n")
        return run_id

    def read_identity(self) -> dict[str, Any] | None:
        """run.json's content, or None for a run written before run ids existed."""
        if not self.identity.exists():
            return None
        raw = read_data_file(self.identity, "run identity")
        if not isinstance(raw, dict) or not isinstance(raw.get("run_id"), str):
            raise RunDirError(f"{self.identity} is damaged; restore it or start a new run")
        return raw

    def remove_temp_files(self) -> list[Path]:
        """Delete temporary files left by an interrupted atomic write."""
        return remove_temp_files(self.root) + remove_temp_files(self.last.parent)

    def clear(self) -> None:
        """Delete every file a run writes (for ``--force``); other files in the directory stay."""
        for path in (self.config, self.identity, self.metrics, self.last, self.best, self.summary):
            path.unlink(missing_ok=True)
        self.remove_temp_files()

    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.metrics, "a") as handle:
            handle.write(json_text(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        """The complete lines; text after the last newline is a write cut short by a kill, and is skipped."""
        if not self.metrics.exists():
            return []
        rows = []
        for number, line in enumerate(self.metrics.read_text(errors="replace").split("\n")[:-1], start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if not isinstance(row, dict) or not isinstance(row.get("epoch"), int):
                raise RunDirError(f"{self.metrics} line {number} is damaged (not a metrics row); "
                                  "restore the file or start a new run")
            rows.append(row)
        return rows

    def truncate_metrics(self, epochs_done: int) -> None:
        """Keep only the metric lines of epochs a checkpoint holds (after an interrupted run)."""
        kept = [r for r in self.read_metrics() if r["epoch"] <= epochs_done]
        write_text_atomic(self.metrics, "".join(json_text(r) + "\n" for r in kept))

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_text_atomic(self.summary, json_text(summary, indent=2) + "\n")

    def read_summary(self) -> dict[str, Any]:
        if not self.summary.exists():
            raise RunDirError(f"{self.root} has no summary.json; the run has not finished (resume it with "
                              f"condnet train --out {self.root} --resume)")
        raw = read_data_file(self.summary, "run summary")
        if not isinstance(raw, dict):
            raise RunDirError(f"{self.summary} is damaged; evaluate the run again with condnet eval")
        return raw


class RunLock:
    """An exclusive lock on a run directory, held from :meth:`acquire` until :meth:`release`.

    A directory this lock had to create, and that holds nothing but the lock when it is released (a run
    refused before it wrote anything), is removed again.
    """

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self._handle: Any = None
        self._created = False

    def acquire(self) -> "RunLock":
        self._created = not self.run.root.exists()
        self.run.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.run.lock_file, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = (handle.read().strip().splitlines() or ["another process"])[0]
            handle.close()
            raise RunDirError(f"{self.run.root} is in use by {holder}, which is writing this run; "
                              "wait for it to end or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} (condnet train)\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        handle.truncate(0)
        leftovers = [p for p in self.run.root.iterdir() if p != self.run.lock_file]
        if self._created and not leftovers:
            self.run.lock_file.unlink(missing_ok=True)
            self.run.root.rmdir()
        handle.close()

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
