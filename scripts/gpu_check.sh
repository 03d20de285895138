#!/usr/bin/env bash
# Does the GPU path work, and how fast? Runs every check on all visible CUDA GPUs, prints one table and writes a
# JSON file (docs/gpu_check.md); ~7 min on one H200. Exit 1 when a check failed (its line printed last); without
# a GPU, one line and exit 0. --cpu-dry-run: the same checks on CPU stand-ins (part of the test suite).
#   bash scripts/gpu_check.sh [--cpu-dry-run] [--only CHECK ...] [--out FILE] [--work-dir DIR]
# Python: $GPU_CHECK_PYTHON when set (e.g. a GPU image's own python3 with wheels carried in, docs/gpu_check.md);
# else the project's venv ($VENV, default .venv), created with the pinned stack by scripts/setup.sh when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${GPU_CHECK_PYTHON:-}" ]; then
  PYTHON=$GPU_CHECK_PYTHON
else
  VENV=${VENV:-.venv}
  [ -x "$VENV/bin/python" ] || bash scripts/setup.sh
  PYTHON=$VENV/bin/python
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "$PYTHON" -m mosaicbert.gpu_check "$@"
