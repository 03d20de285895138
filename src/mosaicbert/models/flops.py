"""Model FLOPs of a training step (forward + backward): the model's ``flops_per_batch`` for Composer's SpeedMonitor
(MFU), the benchmarks and the quality study.

Counts the matrix multiplications of a BERT-style encoder on the tokens it actually processes: per layer
the QKV/output projections and the feed-forward (GLU: three matrices, MLP: two), attention scores and
values per sequence (quadratic in its length; each document of a packed row is a sequence), then the heads (MLM transform + vocabulary decoder on the
tokens it is applied to; pooler + classifier per sequence). Backward costs twice the forward. MosaicBERT
processes only real tokens and decodes only masked ones; a padded model processes every slot.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from mosaicbert.architecture import IGNORE_INDEX
from mosaicbert.architecture.padding import DOCUMENT_IDS, sequence_lengths


def encoder_training_flops(config: Any, sequence_lengths: torch.Tensor, mlm_tokens: float = 0.0,
                           classified_sequences: int = 0) -> float:
    """FLOPs of forward + backward for the HF-style ``config`` on sequences of ``sequence_lengths`` tokens.

    ``mlm_tokens``: tokens the MLM head runs on; ``classified_sequences``: sequences through pooler + classifier.
    """
    hidden, layers, intermediate = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    vocab = getattr(config, "padded_vocab_size", config.vocab_size)
    ffn_matrices = 3 if getattr(config, "ffn_type", "mlp") == "glu" else 2
    lengths = sequence_lengths.double()
    per_token = 2 * (4 * hidden * hidden + ffn_matrices * hidden * intermediate)
    attention = 4 * hidden * float((lengths ** 2).sum())
    mlm_head = 2 * mlm_tokens * (hidden * hidden + hidden * vocab)
    classifier = 2 * classified_sequences * (hidden * hidden + hidden * getattr(config, "num_labels", 2))
    return 3.0 * (layers * (float(lengths.sum()) * per_token + attention) + mlm_head + classifier)


def mlm_training_flops(config: Any, masker: Any, batch: Mapping[str, torch.Tensor]) -> float:
    """FLOPs MosaicBERT needs for an MLM ``batch``: real tokens only, the head on the masked ones.

    When the batch carries no ``labels`` (Composer hands the unmasked batch to callbacks when masking is
    a per-microbatch transform), the number of masked tokens is ``masker.rate`` times the real tokens.
    """
    lengths = sequence_lengths(batch["attention_mask"], batch.get(DOCUMENT_IDS))
    if "labels" in batch:
        masked = float((batch["labels"] != IGNORE_INDEX).sum())
    else:
        masked = float(masker.rate) * float(lengths.sum())
    return encoder_training_flops(config, lengths, mlm_tokens=masked)
