"""Precision: the recipe's ``precision`` key -> Composer Trainer precision + the model's own autocast dtype.

Composer's Trainer rejects ``amp_bf16`` on CPU, so on CPU bf16 mixed precision runs as a full-precision
Trainer whose model wraps forward and loss in ``torch.autocast("cpu", torch.bfloat16)``.
"""

from __future__ import annotations

from typing import Optional

import torch

from .config import ConfigError

# (precision, device) -> (Trainer precision, model autocast dtype); device is "cpu" or "gpu"
PRECISIONS: dict[tuple[str, str], tuple[str, Optional[torch.dtype]]] = {
    ("fp32", "cpu"): ("fp32", None),
    ("amp_bf16", "cpu"): ("fp32", torch.bfloat16),
    ("fp32", "gpu"): ("fp32", None),
    ("amp_bf16", "gpu"): ("amp_bf16", None),
    ("amp_fp16", "gpu"): ("amp_fp16", None),
    # no amp_fp8: Composer's needs Transformer Engine and its TE layers, which this model does not use
}


def resolve_precision(precision: str, device: str, key: str = "precision") -> tuple[str, Optional[torch.dtype]]:
    """Return ``(trainer_precision, autocast_dtype)`` for ``precision`` on ``device`` (``cpu`` or ``gpu``)."""
    try:
        return PRECISIONS[(precision, device)]
    except KeyError:
        valid = sorted({p for p, d in PRECISIONS if d == device})
        raise ConfigError(f"config key '{key}': {precision!r} is not available on {device}; "
                          f"choose from: {', '.join(valid)}") from None
