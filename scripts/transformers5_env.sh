#!/usr/bin/env bash
# The isolated transformers 5 in which the export test loads exported models (tests/test_hf_export_versions.py):
# installed once with pip --target into a cache directory shared by every checkout, never into the project venv
# (the training stack needs transformers < 5: Streaming). Prints the directory to put on PYTHONPATH.
# Usage: bash scripts/transformers5_env.sh   (PYTHON=interpreter whose pip installs; MOSAICBERT_TRANSFORMERS5_DIR=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=5.24.0  # the latest transformers when this was written; bump to test exports against a newer one
DIR=${MOSAICBERT_TRANSFORMERS5_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mosaicbert/transformers-$VERSION}
PYTHON=${PYTHON:-${VENV:-.venv}/bin/python}
if [ ! -f "$DIR/.complete" ]; then
  mkdir -p "$(dirname "$DIR")"
  # a killed install leaves only this staging directory behind, never a half-filled $DIR
  staging=$(mktemp -d "$DIR.partial.XXXXXX") && chmod 755 "$staging"
  # its dependency resolver lists conflicts with the venv's packages: expected (this directory is used alone)
  if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check --target "$staging" "transformers==$VERSION" \
      >"$staging.log" 2>&1; then
    tail -5 "$staging.log" >&2; rm -rf "$staging"
    echo "transformers5_env.sh: pip could not install transformers==$VERSION (log: $staging.log)" >&2; exit 1
  fi
  rm -f "$staging.log"
  touch "$staging/.complete"
  if ! mv -T "$staging" "$DIR" 2>/dev/null; then rm -rf "$staging"; fi  # another process finished first
  [ -f "$DIR/.complete" ] || { echo "transformers5_env.sh: could not install transformers==$VERSION into $DIR" >&2; exit 1; }
fi
echo "$DIR"
