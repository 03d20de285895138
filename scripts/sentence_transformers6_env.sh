#!/usr/bin/env bash
# The isolated sentence-transformers 6 in which tests/test_embeddings_export_versions.py loads exported embedding
# models: sentence-transformers 6.x needs transformers >= 5, so it is installed (pip --target, no dependencies) into
# a cache directory of its own, never into the project venv (pinned: sentence-transformers 5.x on transformers 4.57),
# and used in front of the transformers 5 of scripts/transformers5_env.sh; torch and the rest are the venv's.
# Prints "ST6_DIR:TRANSFORMERS5_DIR", the PYTHONPATH to use.
# Usage: bash scripts/sentence_transformers6_env.sh   (PYTHON=interpreter whose pip installs; MOSAICBERT_ST6_DIR=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=6.3.0  # the latest sentence-transformers when this was written
TRANSFORMERS5=$(bash scripts/transformers5_env.sh | tail -1)
DIR=${MOSAICBERT_ST6_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mosaicbert/sentence-transformers-$VERSION}
PYTHON=${PYTHON:-${VENV:-.venv}/bin/python}
if [ ! -f "$DIR/.complete" ]; then
  mkdir -p "$(dirname "$DIR")"
  staging=$(mktemp -d "$DIR.partial.XXXXXX") && chmod 755 "$staging"  # a killed install leaves only this behind
  if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --target "$staging" \
      "sentence-transformers==$VERSION" >"$staging.log" 2>&1; then
    tail -5 "$staging.log" >&2; rm -rf "$staging"
    echo "sentence_transformers6_env.sh: pip could not install sentence-transformers==$VERSION (log: $staging.log)" >&2
    exit 1
  fi
  rm -f "$staging.log"
  touch "$staging/.complete"
  if ! mv -T "$staging" "$DIR" 2>/dev/null; then rm -rf "$staging"; fi  # another process finished first
  [ -f "$DIR/.complete" ] || { echo "sentence_transformers6_env.sh: could not install into $DIR" >&2; exit 1; }
fi
echo "$DIR:$TRANSFORMERS5"
