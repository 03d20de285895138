"""Mixed precision applied by the model wrapper itself.

Composer's Trainer rejects ``precision: amp_bf16`` on CPU, so the recipe runs the wrapped network's forward
(training and evaluation) and loss under ``torch.autocast(<device of the batch>, dtype)`` on its own.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}


def resolve_autocast_dtype(value: str | torch.dtype | None) -> torch.dtype | None:
    """``None`` (full precision), a ``torch.dtype`` or one of the names in ``AUTOCAST_DTYPES``."""
    if value is None or isinstance(value, torch.dtype):
        return value
    try:
        return AUTOCAST_DTYPES[str(value).lower()]
    except KeyError:
        raise ValueError(f"autocast_dtype={value!r} is not one of {sorted(AUTOCAST_DTYPES)} or None") from None


class AutocastMixin:
    """Runs ``forward`` and ``loss`` of a ComposerModel under autocast when a dtype is set.

    Put it before the ComposerModel class in the bases and set ``self.autocast_dtype``; ``eval_forward``
    must get its outputs from ``self.forward`` so evaluation runs under the same autocast.
    """

    autocast_dtype: torch.dtype | None = None

    def _autocast(self, batch: Any):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(batch["input_ids"].device.type, dtype=self.autocast_dtype)

    def forward(self, batch):
        with self._autocast(batch):
            return super().forward(batch)

    def loss(self, outputs, batch):
        with self._autocast(batch):
            return super().loss(outputs, batch)
