#!/usr/bin/env bash
# The optional peer of `resgen bench --vs ort`: ONNX Runtime (with onnx) from PyPI in a venv of
# their own, .venv-ort (its numpy would not suit Debian's torch 1.13, which stays under
# /usr/bin/python3 for PyTorch and the ONNX export). resgen bench finds it as
# <source>/.venv-ort/bin/python, or wherever $RESGEN_ORT_PYTHON points.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv-ort/bin/python -c "import onnxruntime" 2>/dev/null; then
  echo "setup_bench: creating .venv-ort with onnxruntime and onnx (PyPI)"
  [ -x .venv-ort/bin/python ] || /usr/bin/python3 -m venv .venv-ort
  .venv-ort/bin/pip install -q --disable-pip-version-check onnxruntime onnx
fi
.venv-ort/bin/python -c "import onnxruntime; print('setup_bench: onnxruntime', onnxruntime.__version__)"
