"""The MLM decoder's bias set to the training corpus' log word frequencies (``model.mlm_bias_init: unigram``).

A fresh MLM head starts by predicting every word equally often; Adam moves a zero bias by about the learning
rate per step while log frequencies span ~10 nats, so hundreds of early steps go into learning which words are
common. Starting from the frequencies spends those steps on context instead.
"""

from __future__ import annotations

import torch
from torch import nn


def set_mlm_bias_to_frequencies(network: nn.Module, log_probs: torch.Tensor) -> None:
    """Copy ``log_probs`` (one per tokenizer id) into the decoder bias of ``network``'s MLM head; ids that are
    never a label (special tokens, -inf) and MosaicBERT's padded rows get the rarest word's value."""
    bias = network.get_output_embeddings().bias
    if log_probs.numel() > bias.numel():
        raise ValueError(f"mlm_bias_init: {log_probs.numel()} word frequencies for a decoder of "
                         f"{bias.numel()} rows (tokenizer larger than the model's vocab_size)")
    rarest = log_probs[torch.isfinite(log_probs)].min()  # add-one smoothing: every non-special id is finite
    values = torch.full((bias.numel(),), float(rarest), dtype=torch.float64)
    values[: log_probs.numel()] = torch.where(torch.isfinite(log_probs), log_probs, rarest)
    with torch.no_grad():
        bias.copy_(values.to(bias.dtype))
