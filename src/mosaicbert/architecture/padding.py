"""Unpadding: keep only the real tokens of a right- or left-padded batch, and put them back at the output.

Real tokens of a ``(batch, seq)`` batch are laid out sequence after sequence in one ``(total, ...)`` tensor;
``cu_seqlens`` (int32, ``batch + 1`` offsets) and ``max_seqlen`` describe the sequence boundaries, the layout
used by variable-length attention kernels. The one host sync is ``nonzero`` (the number of real tokens sets the
unpadded shape); ``max_seqlen`` is the padded length, an upper bound, which is all flash-attn needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PaddingInfo:
    """Where the real tokens of a padded ``(batch_size, seq_len)`` batch live."""

    indices: torch.Tensor  # (total,) int64 positions of real tokens in the flattened batch
    cu_seqlens: torch.Tensor  # (batch_size + 1,) int32 cumulative sequence lengths
    max_seqlen: int  # upper bound on the longest sequence: the padded length (the exact one costs a host sync)
    batch_size: int
    seq_len: int


def padding_info(attention_mask: torch.Tensor) -> PaddingInfo:
    """Describe the real tokens (``attention_mask != 0``) of a ``(batch, seq)`` batch."""
    mask = attention_mask.bool()
    seqlens = mask.sum(dim=1, dtype=torch.int32)
    cu_seqlens = torch.nn.functional.pad(torch.cumsum(seqlens, dim=0, dtype=torch.int32), (1, 0))
    indices = torch.nonzero(mask.flatten(), as_tuple=False).flatten()
    batch_size, seq_len = mask.shape
    return PaddingInfo(indices, cu_seqlens, seq_len, batch_size, seq_len)


def unpad(padded: torch.Tensor, info: PaddingInfo) -> torch.Tensor:
    """``(batch, seq, ...)`` -> ``(total, ...)``: the real tokens only."""
    return padded.flatten(0, 1).index_select(0, info.indices)


def repad(unpadded: torch.Tensor, info: PaddingInfo) -> torch.Tensor:
    """``(total, ...)`` -> ``(batch, seq, ...)`` with zeros at the padding positions."""
    flat = unpadded.new_zeros((info.batch_size * info.seq_len, *unpadded.shape[1:]))
    flat = flat.index_copy(0, info.indices, unpadded)
    return flat.view(info.batch_size, info.seq_len, *unpadded.shape[1:])
