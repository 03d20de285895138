"""LR schedule registry: ``scheduler: {name: linear_decay_with_warmup, t_warmup: 0.06dur, alpha_f: 0.02}``.

All entries are Composer's stateless schedulers (times in Composer units, exact on resume).
"""

from __future__ import annotations

from typing import Any

from composer.optim import (
    ComposerScheduler,
    ConstantScheduler,
    ConstantWithWarmupScheduler,
    CosineAnnealingScheduler,
    CosineAnnealingWithWarmupScheduler,
    LinearScheduler,
    LinearWithWarmupScheduler,
    PolynomialWithWarmupScheduler,
)

from .registry import Registry

SCHEDULERS = Registry("scheduler", {
    "linear_decay_with_warmup": LinearWithWarmupScheduler,
    "cosine_decay_with_warmup": CosineAnnealingWithWarmupScheduler,
    "polynomial_decay_with_warmup": PolynomialWithWarmupScheduler,
    "constant_with_warmup": ConstantWithWarmupScheduler,
    "linear_decay": LinearScheduler,
    "cosine_decay": CosineAnnealingScheduler,
    "constant": ConstantScheduler,
})


def build_scheduler(section: Any, key: str = "scheduler") -> ComposerScheduler:
    """Build the Composer LR scheduler named in ``section``."""
    return SCHEDULERS.build_one(section, key)
