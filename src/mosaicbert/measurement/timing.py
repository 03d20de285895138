"""Wall-clock time of work queued on a device: CUDA kernels run asynchronously, so the clock is read only after
``torch.cuda.synchronize`` (before, to exclude earlier work; after, to include all of this work)."""

from __future__ import annotations

import time
from typing import Callable

import torch


def synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device | str) -> float:
    """Seconds ``fn()`` and everything it queued on ``device`` took."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start
