"""Hiding warnings a caller triggers on purpose (and documents beside their messages); every other one still shows.

``silenced(prefixes)`` for this process, ``python_warnings(prefixes)`` for a child process (its
``PYTHONWARNINGS``). A prefix is the literal start of a warning's message. No imports from the package, so every
part can use it.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from typing import Iterable, Iterator


@contextlib.contextmanager
def silenced(prefixes: Iterable[str]) -> Iterator[None]:
    """Within the block, warnings whose message starts with one of ``prefixes`` are ignored."""
    with warnings.catch_warnings():
        for prefix in prefixes:
            warnings.filterwarnings("ignore", message=re.escape(prefix))
        yield


def python_warnings(prefixes: Iterable[str], inherited: str | None = None) -> str:
    """A ``PYTHONWARNINGS`` value ignoring ``prefixes`` (after the ``inherited`` filters)."""
    filters = [f"ignore:{prefix}" for prefix in prefixes]
    if any("," in f or f.count(":") > 1 for f in filters):
        raise ValueError(f"warning prefixes cannot hold ',' or ':' in PYTHONWARNINGS: {filters}")
    return ",".join(([inherited] if inherited else []) + filters)
