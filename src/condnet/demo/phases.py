"""Resumable phases with progress a person can follow: one line per phase, elapsed and time left.

Each finished phase leaves ``DIR/phases/<name>.json`` with its result and the inputs it was computed from;
a re-run with the same directory reuses it (unless ``fresh``) only if those inputs are unchanged (e.g. the
run's summary.json and the condnet version). Time left is estimated from the phases' relative weights and
the time spent so far.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from condnet.files import write_text_atomic


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


class PhaseRunner:
    """Runs named phases in order, caching each one's JSON result under ``out/phases``."""

    def __init__(self, out: Path, weights: dict[str, float], fresh: bool = False,
                 echo: Callable[[str], None] = print) -> None:
        self.dir = Path(out) / "phases"
        self.weights, self.fresh, self.echo = weights, fresh, echo
        self.total_weight = sum(w for name, w in weights.items() if fresh or not self._path(name).exists())
        self.done_weight, self.spent, self.start = 0.0, 0.0, time.perf_counter()
        self.index = 0

    def _path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def _cached(self, path: Path, inputs: Any) -> dict[str, Any] | None:
        """The stored result if it was computed from ``inputs`` (compared as JSON), else None."""
        if self.fresh or not path.exists():
            return None
        stored = json.loads(path.read_text())
        expected = json.loads(json.dumps(inputs))  # the inputs as the phase file holds them
        # a phase file without recorded inputs (written by an older condnet) is never reused
        if not isinstance(stored, dict) or "inputs" not in stored or stored["inputs"] != expected:
            return None
        return stored["result"]

    def run(self, name: str, work: Callable[[], dict[str, Any]],
            inputs: Callable[[], Any] = lambda: None) -> dict[str, Any]:
        """The cached result of phase ``name`` if ``inputs()`` (JSON data: whatever the result depends on,
        e.g. a digest of a run's summary.json) is what it was when the phase finished; else ``work()``'s
        result, cached with ``inputs()`` as it is after the work."""
        self.index += 1
        head = f"[{self.index}/{len(self.weights)}] {name}"
        path = self._path(name)
        cached = self._cached(path, inputs())
        if cached is not None:
            self.echo(f"{head}: reused {path}")
            return cached
        changed = " (its inputs changed since it was cached)" if path.exists() and not self.fresh else ""
        self.echo(f"{head} ...{changed}")
        tic = time.perf_counter()
        result = work()
        took = time.perf_counter() - tic
        write_text_atomic(path, json.dumps({"inputs": inputs(), "result": result}, indent=2) + "\n")
        self.spent += took
        self.done_weight += self.weights[name]
        remaining_weight = self.total_weight - self.done_weight
        left = self.spent / self.done_weight * remaining_weight if self.done_weight else 0.0
        self.echo(f"{head}: done in {_clock(took)}  (elapsed {_clock(time.perf_counter() - self.start)}, "
                  f"~{_clock(left)} left)")
        return result
