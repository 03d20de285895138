"""Model FLOPs of a training step (forward + backward): the model's ``flops_per_batch`` for Composer's SpeedMonitor
(MFU), the benchmarks and the quality study.

Counts the matrix multiplications of a BERT-style encoder on the tokens it actually processes: per layer
the QKV/output projections and the feed-forward (GLU: three matrices, MLP: two), attention scores and
values per sequence (quadratic in its length, or linear within a local window; each document of a packed row is
a sequence), then the heads (MLM transform + vocabulary decoder on the tokens it is applied to; pooler +
classifier per sequence). Backward costs twice the forward. What a family runs on (real tokens or every padded
slot; the decoder on masked tokens or on all) is its ``FlopShape``, declared by the family: callers pass
``family.flop_shape(config)`` (``NetworkFamily.flop_shape``); this module knows no family.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import torch

from mosaicbert.architecture import IGNORE_INDEX
from mosaicbert.architecture.padding import DOCUMENT_IDS, sequence_lengths


@dataclass(frozen=True)
class FlopShape:
    """The matrix shapes of an encoder and what it runs them on."""

    hidden: int
    layers: int
    intermediate: int
    ffn_matrices: int  # hidden x intermediate matrices per layer: 3 for a GLU, 2 for an MLP
    vocab_rows: int  # rows of the MLM decoder
    num_labels: int
    # per layer: tokens attended on each side (local attention), None for global attention
    attention_half_windows: tuple[int | None, ...]
    computes_padding: bool = False  # the encoder runs on every padded slot, not only real tokens
    decodes_all_tokens: bool = False  # the MLM decoder runs on every slot, not only the masked tokens


def bert_flop_shape(config: Any, padded: bool = False) -> FlopShape:
    """BERT-shaped encoders (MosaicBERT unpadded; transformers' BERT ``padded``: it also decodes every slot)."""
    return FlopShape(hidden=config.hidden_size, layers=config.num_hidden_layers, intermediate=config.intermediate_size,
                     ffn_matrices=3 if getattr(config, "ffn_type", "mlp") == "glu" else 2,
                     vocab_rows=getattr(config, "padded_vocab_size", config.vocab_size),
                     num_labels=getattr(config, "num_labels", 2),
                     attention_half_windows=(None,) * config.num_hidden_layers,
                     computes_padding=padded, decodes_all_tokens=padded)


def attended_pairs(lengths: torch.Tensor, half_window: int | None) -> float:
    """Query-key pairs of self-attention over sequences of ``lengths`` (all pairs, or ``|i - j| <= half_window``)."""
    lengths = lengths.double()
    if half_window is None:
        return float((lengths ** 2).sum())
    h = half_window
    windowed = lengths * (2 * h + 1) - h * (h + 1)
    return float(torch.where(lengths <= h + 1, lengths ** 2, windowed).sum())


def encoder_training_flops(shape: FlopShape, lengths: torch.Tensor, mlm_tokens: float = 0.0,
                           classified_sequences: int = 0) -> float:
    """FLOPs of forward + backward for an encoder of ``shape`` on sequences of ``lengths`` tokens.

    ``mlm_tokens``: tokens the MLM head runs on; ``classified_sequences``: sequences through pooler + classifier.
    """
    return _training_flops(shape, lengths, mlm_tokens, classified_sequences)


def _training_flops(shape: FlopShape, lengths: torch.Tensor, mlm_tokens: float,
                    classified_sequences: int) -> float:
    hidden = shape.hidden
    lengths = lengths.double()
    per_token = 2 * (4 * hidden * hidden + shape.ffn_matrices * hidden * shape.intermediate)
    attention = sum(4 * hidden * attended_pairs(lengths, half) for half in shape.attention_half_windows)
    mlm_head = 2 * mlm_tokens * (hidden * hidden + hidden * shape.vocab_rows)
    classifier = 2 * classified_sequences * (hidden * hidden + hidden * shape.num_labels)
    return 3.0 * (shape.layers * float(lengths.sum()) * per_token + attention + mlm_head + classifier)


def step_flops(shape: FlopShape, attention_mask: torch.Tensor, masked_tokens: float = 0.0,
               classified_sequences: int = 0, document_ids: torch.Tensor | None = None) -> tuple[float, float]:
    """(FLOPs a network of ``shape`` executes on a batch, FLOPs its architecture needs for the real tokens only).

    They differ for a family that computes on padding (every slot, and every query-key pair: a local window is then
    a mask) or decodes every token (``FlopShape``). With ``document_ids`` each document of a packed row is a
    sequence of its own."""
    real = sequence_lengths(attention_mask, document_ids)
    needed = _training_flops(shape, real, masked_tokens, classified_sequences)
    if not (shape.computes_padding or shape.decodes_all_tokens):
        return needed, needed
    executed_shape = replace(shape, attention_half_windows=(None,) * shape.layers) if shape.computes_padding else shape
    lengths = (torch.full((attention_mask.shape[0],), attention_mask.shape[1], device=real.device)
               if shape.computes_padding else real)  # a padded model attends over whole rows
    decoded = float(attention_mask.numel()) if shape.decodes_all_tokens and masked_tokens else masked_tokens
    return _training_flops(executed_shape, lengths, decoded, classified_sequences), needed


def mlm_training_flops(shape: FlopShape, masker: Any, batch: Mapping[str, torch.Tensor]) -> float:
    """FLOPs a network of ``shape`` executes for an MLM ``batch`` (the head on the masked tokens, or on all as the
    shape says).

    When the batch carries no ``labels`` (Composer hands the unmasked batch to callbacks when masking is
    a per-microbatch transform), the number of masked tokens is ``masker.rate`` times the real tokens.
    """
    mask = batch["attention_mask"]
    if "labels" in batch:
        masked = float((batch["labels"] != IGNORE_INDEX).sum())
    else:
        masked = float(masker.rate) * float(mask.sum())
    return step_flops(shape, mask, masked, document_ids=batch.get(DOCUMENT_IDS))[0]
