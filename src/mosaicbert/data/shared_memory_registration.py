"""One Streaming dataset at a time registers its shared memory on a machine.

Streaming picks a dataset's shared-memory prefix by looking for the first unused one and then creating it; two
processes on one machine that start a dataset at the same moment (two jobs, GLUE workers, parallel tests) can pick
the same prefix, and the second dies with ``FileExistsError: '/000006_locals'`` (mosaicml/streaming#689). The local
leader (the only rank that creates the prefix) holds a machine-wide file lock while its dataset is built; the other
ranks of its node only read the prefix, so they take no lock and cannot deadlock against their leader. A process
that hangs while holding the lock (the kernel frees it when a process dies) delays the others by
``WAIT_S`` at most: they then go on without it, as Streaming alone would.

The lock cannot cover a node's other ranks, which compute the prefix themselves: a second multi-rank job (or a
parallel test run) can still take the prefix between their count and their leader's registration. Jobs sharing
a machine therefore each get their own range of prefixes with ``MOSAICBERT_SHM_PREFIX_START`` (an integer below
999,000; inherited by the job's ranks), e.g. 0 for one job and 100000 for the next; the test suite gives each
pytest-xdist worker its own.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout
from streaming.base.shared import prefix as streaming_prefix
from streaming.base.world import World

LOCK_FILE = Path(tempfile.gettempdir()) / "mosaicbert-streaming-shared-memory.lock"
WAIT_S = 120.0

PREFIX_START_ENV = "MOSAICBERT_SHM_PREFIX_START"

log = logging.getLogger(__name__)


def use_prefix_range() -> None:
    """Make Streaming search for free prefixes from ``$MOSAICBERT_SHM_PREFIX_START`` on (0 when unset)."""
    start = int(os.environ.get(PREFIX_START_ENV, "0") or 0)
    if start:
        streaming_prefix._each_prefix_int = lambda: itertools.count(start)


@contextmanager
def registering_shared_memory() -> Iterator[None]:
    """Wrap the construction of a ``StreamingDataset``."""
    use_prefix_range()
    if not World.detect().is_local_leader:
        yield
        return
    lock = FileLock(LOCK_FILE, timeout=WAIT_S)
    try:
        lock.acquire()
    except Timeout:
        log.warning("another process has held %s for %.0f s; building the dataset without it", LOCK_FILE, WAIT_S)
        yield
        return
    try:
        yield
    finally:
        lock.release()
