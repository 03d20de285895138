"""Callback registry: ``callbacks: {speed_monitor: {window_size: 20}, lr_monitor: {}, ...}``.

Composer's callbacks for throughput/MFU (``speed_monitor``; tokens are whatever the DataSpec counts, and
MFU needs ``gpu_flops_available`` off the known GPUs), learning rate, memory and remaining time, plus the
recipe's own guard against non-finite losses.
"""

from __future__ import annotations

from typing import Any

from composer.callbacks import LRMonitor, MemoryMonitor, OptimizerMonitor, RuntimeEstimator, SpeedMonitor
from composer.core import Callback

from mosaicbert.callbacks.nonfinite_loss import NonFiniteLossGuard

from .registry import Registry

CALLBACKS = Registry("callback", {
    "speed_monitor": SpeedMonitor,
    "lr_monitor": LRMonitor,
    "memory_monitor": MemoryMonitor,
    "runtime_estimator": RuntimeEstimator,
    "optimizer_monitor": OptimizerMonitor,
    "nonfinite_loss_guard": NonFiniteLossGuard,
})


def build_callbacks(section: Any, key: str = "callbacks") -> list[Callback]:
    """Build every callback named in ``section``."""
    return CALLBACKS.build_many(section, key)
