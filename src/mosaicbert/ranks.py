"""One decision for all ranks: what rank 0 found (a finished run, a measured speed) is what every rank goes on with.
A rank that decides from its own files or clocks may take another branch, or plan another step count, and then
ranks leave their collectives at different points and wait for each other forever (the quality study did)."""

from __future__ import annotations

from typing import TypeVar

from composer.utils import dist

T = TypeVar("T")


def rank_zero_value(value: T) -> T:
    """Rank 0's ``value`` on every rank (``value`` itself in a single process); it must pickle."""
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
