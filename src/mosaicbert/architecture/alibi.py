"""ALiBi (Press et al., 2022): per-head linear attention biases, symmetric in |i - j| as in MosaicBERT."""

from __future__ import annotations

import math

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
    """Slopes plus a bias table precomputed for ``starting_size`` tokens, grown on demand for longer sequences.

    The table is a plain cached tensor, not a buffer: DDP would otherwise broadcast it every step (and fail once
    ranks grew it to different sizes). It follows the slopes' device, rebuilt after ``.to()`` moves.
    """

    def __init__(self, num_heads: int, starting_size: int):
        super().__init__()
        self.starting_size = starting_size
        self.register_buffer("slopes", alibi_slopes(num_heads), persistent=False)
        self.table = alibi_bias(self.slopes, starting_size)

    def bias_for(self, seq_len: int) -> torch.Tensor:
        """The ``(heads, n, n)`` bias table with ``n >= seq_len`` (callers slice what they need)."""
        if seq_len > self.table.shape[-1] or self.table.device != self.slopes.device:
            self.table = alibi_bias(self.slopes, max(seq_len, self.starting_size, self.table.shape[-1]))
        return self.table
