#!/usr/bin/env bash
# The README's test command: set up (idempotent), lint with ruff (rules and line length in pyproject.toml;
# a lint error stops here), then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks examples
exec .venv/bin/python -m pytest -q "$@"
