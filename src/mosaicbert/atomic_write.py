"""Files written whole or not at all: write to a temporary file beside the target, then ``os.replace``.

A crash or Ctrl-C midway leaves the previous file (or none), never half a result. The temporary name is
hidden, carries the process id (concurrent writers never share one) and keeps the suffix (matplotlib picks
the image format from it). Directories (MDS splits, Hugging Face exports) are staged and renamed by their
writers (``data/conversion.py``, ``models/hf_io.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to; it replaces ``path`` when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
