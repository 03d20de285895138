"""Encoder layer and encoder stack, both working on unpadded tokens ``(total, hidden)``."""

from __future__ import annotations

import torch
import torch.utils.checkpoint
from torch import nn

from .alibi import AlibiBias
from .attention import ATTENTION_BACKENDS, AttentionInputs, MosaicBertAttention, resolve_attention_backend
from .ffn import FFN_REGISTRY


class MosaicBertLayer(nn.Module):
    """Post-LN transformer layer as in BERT: attention sublayer, then feed-forward sublayer."""

    def __init__(self, config):
        super().__init__()
        self.attention = MosaicBertAttention(config)
        self.mlp = FFN_REGISTRY[config.ffn_type](config)

    def forward(self, hidden: torch.Tensor, inputs: AttentionInputs) -> torch.Tensor:
        return self.mlp(self.attention(hidden, inputs))


class MosaicBertEncoder(nn.Module):
    """The layer stack; resolves the attention backend and the ALiBi bias once per forward pass."""

    def __init__(self, config):
        super().__init__()
        self.attention_backend = config.attention_backend
        self.layer = nn.ModuleList(MosaicBertLayer(config) for _ in range(config.num_hidden_layers))
        self.alibi = (AlibiBias(config.num_attention_heads, config.alibi_starting_size)
                      if config.position_embedding_type == "alibi" else None)
        self.gradient_checkpointing = False

    def forward(self, hidden: torch.Tensor, cu_seqlens: torch.Tensor, max_seqlen: int) -> torch.Tensor:
        backend = ATTENTION_BACKENDS[resolve_attention_backend(self.attention_backend, hidden.device)]
        slopes, bias = (None, None) if self.alibi is None else (self.alibi.slopes, self.alibi.bias_for(max_seqlen))
        inputs = AttentionInputs(cu_seqlens, max_seqlen, backend, slopes, bias)
        for layer in self.layer:
            if self.gradient_checkpointing and self.training:
                hidden = torch.utils.checkpoint.checkpoint(layer, hidden, inputs, use_reentrant=False)
            else:
                hidden = layer(hidden, inputs)
        return hidden
