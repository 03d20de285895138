"""Unpadding: keep only the real tokens of a right- or left-padded batch, and put them back at the output.

Real tokens of a ``(batch, seq)`` batch are laid out sequence after sequence in one ``(total, ...)`` tensor;
``cu_seqlens`` (int32, one offset per sequence plus the total) and ``max_seqlen`` describe the sequence boundaries,
the layout used by variable-length attention kernels. A row is one sequence, or, given ``document_ids`` (packed
rows), each run of equal ids among its real tokens is a sequence of its own: attention never crosses documents.
The host syncs are ``nonzero`` calls (the number of real tokens, or of documents, sets a shape); ``max_seqlen`` is
the padded length, an upper bound, which is all flash-attn needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

DOCUMENT_IDS = "document_ids"  # the batch key (and forward argument) of packed rows' per-token document ids


@dataclass(frozen=True)
class PaddingInfo:
    """Where the real tokens of a padded ``(batch_size, seq_len)`` batch live."""

    indices: torch.Tensor  # (total,) int64 positions of real tokens in the flattened batch
    cu_seqlens: torch.Tensor  # (sequences + 1,) int32 cumulative sequence lengths (sequences = rows or documents)
    max_seqlen: int  # upper bound on the longest sequence: the padded length (the exact one costs a host sync)
    batch_size: int
    seq_len: int
    row_starts: Optional[torch.Tensor] = None  # (batch_size,) first real token of each row; None: cu_seqlens[:-1]

    def first_tokens(self) -> torch.Tensor:
        """Unpadded offsets of each row's first real token (its [CLS])."""
        return (self.cu_seqlens[:-1] if self.row_starts is None else self.row_starts).long()

    def positions(self) -> torch.Tensor:
        """``(total,)`` position of each real token within its sequence (restarting at every document)."""
        seqlens = self.cu_seqlens.diff().long()
        starts = torch.repeat_interleave(self.cu_seqlens[:-1].long(), seqlens, output_size=len(self.indices))
        return torch.arange(len(self.indices), device=self.indices.device) - starts


def _document_starts(mask: torch.Tensor, document_ids: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Boolean ``(total,)``: the real tokens that open a sequence (a row's first, or a change of document id)."""
    rows = indices // mask.shape[1]
    documents = document_ids.flatten().index_select(0, indices)
    opens = torch.ones_like(indices, dtype=torch.bool)
    opens[1:] = (rows[1:] != rows[:-1]) | (documents[1:] != documents[:-1])
    return opens


def padding_info(attention_mask: torch.Tensor, document_ids: Optional[torch.Tensor] = None) -> PaddingInfo:
    """Describe the real tokens (``attention_mask != 0``) of a ``(batch, seq)`` batch; one sequence per row, or
    one per document where ``document_ids`` (same shape, equal ids for the tokens of one document) is given."""
    mask = attention_mask.bool()
    batch_size, seq_len = mask.shape
    row_lengths = mask.sum(dim=1, dtype=torch.int32)
    row_offsets = torch.nn.functional.pad(torch.cumsum(row_lengths, dim=0, dtype=torch.int32), (1, 0))
    indices = torch.nonzero(mask.flatten(), as_tuple=False).flatten()
    if document_ids is None:
        return PaddingInfo(indices, row_offsets, seq_len, batch_size, seq_len)
    starts = torch.nonzero(_document_starts(mask, document_ids, indices), as_tuple=False).flatten().to(torch.int32)
    cu_seqlens = torch.cat([starts, row_offsets[-1:]])
    return PaddingInfo(indices, cu_seqlens, seq_len, batch_size, seq_len, row_starts=row_offsets[:-1])


def sequence_lengths(attention_mask: torch.Tensor, document_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Length of every sequence the network attends over (rows, or documents of packed rows): FLOP counts."""
    if document_ids is None:
        return attention_mask.sum(dim=1)
    return padding_info(attention_mask, document_ids).cu_seqlens.diff()


def unpad(padded: torch.Tensor, info: PaddingInfo) -> torch.Tensor:
    """``(batch, seq, ...)`` -> ``(total, ...)``: the real tokens only."""
    return padded.flatten(0, 1).index_select(0, info.indices)


def repad(unpadded: torch.Tensor, info: PaddingInfo) -> torch.Tensor:
    """``(total, ...)`` -> ``(batch, seq, ...)`` with zeros at the padding positions."""
    flat = unpadded.new_zeros((info.batch_size * info.seq_len, *unpadded.shape[1:]))
    flat = flat.index_copy(0, info.indices, unpadded)
    return flat.view(info.batch_size, info.seq_len, *unpadded.shape[1:])
