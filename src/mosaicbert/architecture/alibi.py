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
    """The fp32 slopes and a bias table for at least ``starting_size`` tokens, made on first use on each device.

    Neither is a buffer (both are plain cached tensors, computed from the head count): FSDP1's mixed precision
    casts buffers to bf16, which would round 4 of bert-base's 12 slopes; DDP would broadcast them every step;
    transformers 5 allocates non-persistent buffers empty in ``from_pretrained``; and a model built on the meta
    device would hold meta tensors. Computed where the activations live, they are exact under every sharding.
    """

    def __init__(self, num_heads: int, starting_size: int):
        super().__init__()
        self.num_heads = num_heads
        self.starting_size = starting_size
        self.slopes: Optional[torch.Tensor] = None
        self.table: Optional[torch.Tensor] = None

    def slopes_on(self, device: torch.device) -> torch.Tensor:
        """The ``(heads,)`` fp32 slopes on ``device``."""
        if self.slopes is None or self.slopes.device != device:
            self.slopes = alibi_slopes(self.num_heads).to(device)
            self.table = None
        return self.slopes

    def bias_for(self, seq_len: int, device: torch.device) -> torch.Tensor:
        """The ``(heads, n, n)`` bias table on ``device`` with ``n >= seq_len`` (callers slice what they need)."""
        slopes = self.slopes_on(device)
        if self.table is None or seq_len > self.table.shape[-1]:
            size = max(seq_len, self.starting_size, 0 if self.table is None else self.table.shape[-1])
            self.table = alibi_bias(slopes, size)
        return self.table
