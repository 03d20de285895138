"""Model FLOPs of an MLM training step, for Composer's SpeedMonitor (``model.flops_per_batch``) and MFU.

Counts what the model must compute on the batch's real tokens (padding excluded, as MosaicBERT never
computes on it): per layer the QKV/output projections and the feed-forward (GLU: three matrices, MLP:
two), attention scores and values per sequence (quadratic in its real length), and the MLM head at the
masked positions; backward costs twice the forward.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

IGNORE_INDEX = -100


def mlm_training_flops(config: Any, masker: Any, batch: Mapping[str, torch.Tensor]) -> float:
    """FLOPs of forward + backward of ``batch`` for an encoder described by the HF-style ``config``.

    When the batch carries no ``labels`` (Composer hands the unmasked batch to callbacks when masking is
    a per-microbatch transform), the number of masked tokens is ``masker.rate`` times the real tokens.
    """
    hidden, layers, intermediate = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    vocab = getattr(config, "padded_vocab_size", config.vocab_size)
    ffn_matrices = 3 if getattr(config, "ffn_type", "mlp") == "glu" else 2
    lengths = batch["attention_mask"].sum(dim=1).double()
    tokens = float(lengths.sum())
    if "labels" in batch:
        masked = float((batch["labels"] != IGNORE_INDEX).sum())
    else:
        masked = float(masker.rate) * tokens
    per_token = 2 * (4 * hidden * hidden + ffn_matrices * hidden * intermediate)
    attention = 4 * hidden * float((lengths ** 2).sum())
    head = 2 * masked * (hidden * hidden + hidden * vocab)
    return 3.0 * (layers * (tokens * per_token + attention) + head)
