"""Under Composer's launcher every rank of a study computes each stage (the DDP runs need them all), but what a
rank measures is its own: its seconds per step, its wall time. Steps planned from such numbers must be the same on
every rank, or the ranks leave their collectives at different batches and wait for each other forever."""

from __future__ import annotations

from typing import TypeVar

from composer.utils import dist

T = TypeVar("T")


def rank_zero_value(value: T) -> T:
    """Rank 0's ``value`` on every rank (``value`` itself in a single process); it must pickle."""
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
