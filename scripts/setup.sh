#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: a virtual environment in .venv with torch (the CPU wheel
# torch==2.13.0), condnet with its dev tools and deploy extra (onnx, onnxscript, onnxruntime), and the
# Debian package with Fashion-MNIST when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CONDNET_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null; then
    "$py" -m pip install --quiet --disable-pip-version-check torch==2.13.0
fi
stamp="$venv/.condnet-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || ! "$py" -c 'import condnet' 2>/dev/null; then
    "$py" -m pip install --quiet --disable-pip-version-check -e ".[dev,deploy]"
    touch "$stamp"
fi
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
