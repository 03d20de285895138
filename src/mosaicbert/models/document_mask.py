"""Packed rows for networks that attend over padded rows (transformers' BERT): a block-diagonal mask.

A network whose forward takes no ``document_ids`` gets, on a copy of the batch, the 3-D attention mask
``(doc_i == doc_j) & real_j`` and position ids that restart at each document: each document of a packed row is
then encoded as if it were alone. The batch itself keeps its 2-D mask, so masking and metrics are unchanged.
"""

from __future__ import annotations

from typing import Mapping

import torch

from mosaicbert.architecture.padding import DOCUMENT_IDS


def document_positions(document_ids: torch.Tensor) -> torch.Tensor:
    """``(batch, seq)`` position of each token within its document (a run of equal ids)."""
    seq = torch.arange(document_ids.shape[1], device=document_ids.device).expand_as(document_ids)
    opens = torch.ones_like(document_ids, dtype=torch.bool)
    opens[:, 1:] = document_ids[:, 1:] != document_ids[:, :-1]
    starts = torch.where(opens, seq, torch.zeros_like(seq)).cummax(dim=1).values
    return seq - starts


def block_diagonal_inputs(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy of ``batch`` without ``document_ids``: 3-D ``attention_mask`` and restarted ``position_ids``."""
    inputs = {key: value for key, value in batch.items() if key != DOCUMENT_IDS}
    documents, real = batch[DOCUMENT_IDS], batch["attention_mask"].bool()
    same_document = documents[:, :, None] == documents[:, None, :]
    inputs["attention_mask"] = (same_document & real[:, None, :]).to(batch["attention_mask"].dtype)
    inputs["position_ids"] = document_positions(documents)
    return inputs
