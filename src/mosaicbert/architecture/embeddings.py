"""Token embeddings computed on unpadded tokens: word + token type (+ learned absolute positions)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .dropout import HashDropout
from .layer_norm import build_layer_norm


class MosaicBertEmbeddings(nn.Module):
    """Word embeddings have ``config.padded_vocab_size`` rows; positions exist only for ``absolute``."""

    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.padded_vocab_size, config.hidden_size,
                                            padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.position_embeddings = (nn.Embedding(config.max_position_embeddings, config.hidden_size)
                                    if config.position_embedding_type == "absolute" else None)
        self.LayerNorm = build_layer_norm(config)
        self.dropout = HashDropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor,
                position_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """All arguments are 1-D over the real tokens; ``position_ids`` is required for absolute positions."""
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        if self.position_embeddings is not None:
            embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))
