#!/usr/bin/env bash
# Create .venv and install mthub with its test extras at the exact versions CI uses (.ci/constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first, on its own: the pinned CUDA build lies on local disk here (see .ci/constraints.txt).
.venv/bin/python -m pip install -q -c .ci/constraints.txt torch torchvision
.venv/bin/python -m pip install -q -c .ci/constraints.txt -e ".[test]"
