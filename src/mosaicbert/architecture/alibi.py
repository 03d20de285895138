"""ALiBi (Press et al., 2022): per-head linear attention biases, symmetric in |i - j| as in MosaicBERT."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """Per-head slopes (fp32): the geometric sequence ``2^(-8 i / n)`` for power-of-two ``n``.

    Other head counts take all slopes of the largest power of two below ``n`` plus every other slope of the
    next power of two (the interpolation of the ALiBi paper).
    """

    def geometric(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if num_heads < 1:
        raise ValueError(f"num_heads={num_heads} must be >= 1")
    closest = 2 ** math.floor(math.log2(num_heads))
    slopes = geometric(closest) + geometric(2 * closest)[0::2][: num_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(slopes: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Additive attention bias ``-slope_h * |i - j|`` of shape ``(heads, seq_len, seq_len)`` (fp32)."""
    positions = torch.arange(seq_len, device=slopes.device)
    distance = (positions[None, :] - positions[:, None]).abs().to(torch.float32)
    return -slopes.to(torch.float32)[:, None, None] * distance


class AlibiBias(nn.Module):
    """fp32 slopes and bias tables built on first use, one table per (dtype, device), grown for longer sequences.

    Nothing is a buffer (all are plain cached tensors computed from the head count): FSDP1's mixed precision casts
    buffers to bf16, which would round 4 of bert-base's 12 slopes; DDP would broadcast them every step (and fail
    once ranks grew a table apart); transformers 5 allocates non-persistent buffers empty in ``from_pretrained``.
    No table is built until a backend asks (flash-attn needs only the slopes). A table covers at least
    ``starting_size`` tokens and grows to the next power of two, so sequences past the training length cost one
    rebuild per doubling (not one per batch, nor a recompile per length).
    """

    def __init__(self, num_heads: int, starting_size: int):
        super().__init__()
        self.num_heads = num_heads
        self.starting_size = starting_size
        self.slopes: Optional[torch.Tensor] = None
        self.tables: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}

    def slopes_on(self, device: Optional[torch.device] = None) -> torch.Tensor:
        """The ``(heads,)`` fp32 slopes on ``device`` (default: where they were last asked for, else the CPU)."""
        if self.slopes is None:
            self.slopes = alibi_slopes(self.num_heads)
        if device is not None and self.slopes.device != torch.device(device):
            self.slopes = self.slopes.to(device)
        return self.slopes

    def reset(self) -> None:
        """Drop the cached tables."""
        self.tables.clear()

    def bias(self, seq_len: int, dtype: torch.dtype = torch.float32,
             device: Optional[torch.device] = None) -> torch.Tensor:
        """The ``(heads, n, n)`` bias table in ``dtype`` with ``n >= seq_len`` (callers slice what they need)."""
        slopes = self.slopes_on(device)
        key = (dtype, slopes.device)
        table = self.tables.get(key)
        if table is None or table.shape[-1] < seq_len:
            size = max(self.starting_size, 2 ** math.ceil(math.log2(max(seq_len, 1))))
            self.tables[key] = table = alibi_bias(slopes, size).to(dtype)
        return table
