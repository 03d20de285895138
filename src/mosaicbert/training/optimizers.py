"""Optimizer registry: ``optimizer: {name: decoupled_adamw, lr: 5.0e-4, ...}`` -> a torch optimizer.

``decoupled_adamw`` is Composer's DecoupledAdamW update run by PyTorch's fused kernel (``fused_adamw.py``);
``decoupled_adamw_loop`` is Composer's own per-tensor implementation.
"""

from __future__ import annotations

from typing import Any

import torch
from composer.optim import DecoupledAdamW, DecoupledSGDW

from .fused_adamw import FusedDecoupledAdamW
from .registry import Registry

OPTIMIZERS = Registry("optimizer", {
    "decoupled_adamw": FusedDecoupledAdamW,
    "decoupled_adamw_loop": DecoupledAdamW,
    "decoupled_sgdw": DecoupledSGDW,
    "adamw": torch.optim.AdamW,
}, injected=("params",))


def build_optimizer(section: Any, model: torch.nn.Module, key: str = "optimizer") -> torch.optim.Optimizer:
    """Build the optimizer named in ``section`` over all parameters of ``model``."""
    return OPTIMIZERS.build_one(section, key, params=model.parameters())
