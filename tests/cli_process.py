"""Run the real ``condnet`` command in a subprocess and check that a user error fails cleanly."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[1]


def assert_one_line_error(argv: list[str], needle: str) -> None:
    """``condnet argv`` exits 2 with one stderr line containing ``needle`` and no traceback."""
    proc = subprocess.run([sys.executable, "-m", "condnet.cli.main", *argv], capture_output=True, text=True,
                          cwd=str(REPO), check=False)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
