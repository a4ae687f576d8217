#!/usr/bin/env bash
# The README's main job: set up (idempotent), then run the Fashion-MNIST demo. Extra arguments go to
# `condnet demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/condnet demo "$@"
