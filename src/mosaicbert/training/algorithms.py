"""Algorithm registry: ``algorithms: {masking_rate_schedule: {schedule: linear, end: 0.15}, ...}``.

``domain_upsampling: {start: 0.85dur, proportions: {c4: 1, pubmed: 4}}`` changes the stream mixture for
the last part of training (needs ``train_loader.streams``).

The recipe injects what an algorithm needs from the run (``masker``: the training MLM masker).
"""

from __future__ import annotations

from typing import Any

from composer.core import Algorithm

from mosaicbert.algorithms.domain_upsampling import DomainUpsampling
from mosaicbert.algorithms.masking_schedule import MaskingRateScheduler

from .registry import Registry

ALGORITHMS = Registry("algorithm", {
    "masking_rate_schedule": MaskingRateScheduler,
    "domain_upsampling": DomainUpsampling,
}, injected=("masker",))


def build_algorithms(section: Any, key: str = "algorithms", **injected: Any) -> list[Algorithm]:
    """Build every algorithm named in ``section``, passing each the ``injected`` objects it accepts."""
    return ALGORITHMS.build_many(section, key, **injected)
