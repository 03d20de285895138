"""``silenced(patterns)``: a block in which warnings whose message matches one of ``patterns`` are not shown.

For warnings a caller triggers on purpose and documents beside its patterns; every other warning still shows.
No imports from the package, so every part can use it.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterable, Iterator


@contextlib.contextmanager
def silenced(patterns: Iterable[str]) -> Iterator[None]:
    """Within the block, warnings whose message starts with a match of one of ``patterns`` (regexes) are ignored."""
    with warnings.catch_warnings():
        for pattern in patterns:
            warnings.filterwarnings("ignore", message=pattern)
        yield
