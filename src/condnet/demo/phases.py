"""Resumable phases with progress a person can follow: one line per phase, elapsed and time left.

Each finished phase leaves ``DIR/phases/<name>.json``; a re-run with the same directory reuses it
(unless ``fresh``). Time left is estimated from the phases' relative weights and the time spent so far.
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

    def run(self, name: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The cached result of phase ``name``, or ``work()``'s result (then cached)."""
        self.index += 1
        head = f"[{self.index}/{len(self.weights)}] {name}"
        path = self._path(name)
        if path.exists() and not self.fresh:
            self.echo(f"{head}: reused {path}")
            return json.loads(path.read_text())
        self.echo(f"{head} ...")
        tic = time.perf_counter()
        result = work()
        took = time.perf_counter() - tic
        write_text_atomic(path, json.dumps(result, indent=2) + "\n")
        self.spent += took
        self.done_weight += self.weights[name]
        remaining_weight = self.total_weight - self.done_weight
        left = self.spent / self.done_weight * remaining_weight if self.done_weight else 0.0
        self.echo(f"{head}: done in {_clock(took)}  (elapsed {_clock(time.perf_counter() - self.start)}, "
                  f"~{_clock(left)} left)")
        return result
