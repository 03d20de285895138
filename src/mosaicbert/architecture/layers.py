"""Encoder layer and encoder stack, both working on unpadded tokens ``(total, hidden)``."""

from __future__ import annotations

from functools import partial

import torch
import torch.utils.checkpoint
from torch import nn

from .alibi import AlibiBias
from .attention import (
    ATTENTION_BACKENDS,
    AttentionBackend,
    AttentionContext,
    MosaicBertAttention,
    resolve_attention_backend,
)
from .ffn import FFN_REGISTRY


class MosaicBertLayer(nn.Module):
    """Post-LN transformer layer as in BERT and the original MosaicBERT: two sublayers, each with its residual.

    ::

        x -> Wqkv -> attention -> dense -> dropout -> (+) -> LayerNorm -> a       attention.MosaicBertAttention
        |                                              ^
        +---------------------- residual --------------+

        a -> wi -> gelu(gate) * value -> dropout -> wo -> (+) -> LayerNorm -> y   ffn.MosaicBertGLU
        |                                                  ^
        +------------------------ residual ----------------+

    ``ffn_type: mlp`` (BERT's) runs ``wi -> gelu -> wo -> dropout`` on the second line. The LayerNorm follows
    each residual sum (post-LN); ALiBi enters as a bias on the attention scores.
    """

    def __init__(self, config):
        super().__init__()
        self.attention = MosaicBertAttention(config)
        self.mlp = FFN_REGISTRY[config.ffn_type](config)

    def forward(self, hidden: torch.Tensor, context: AttentionContext, backend: AttentionBackend) -> torch.Tensor:
        return self.mlp(self.attention(hidden, context, backend))


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
        slopes, bias = (None, None) if self.alibi is None else (
            self.alibi.slopes_on(hidden.device), partial(self.alibi.bias, device=hidden.device))
        context = AttentionContext(cu_seqlens, max_seqlen, slopes, bias)  # tables only if a backend asks
        for layer in self.layer:
            if self.gradient_checkpointing and self.training:
                hidden = torch.utils.checkpoint.checkpoint(layer, hidden, context, backend, use_reentrant=False)
            else:
                hidden = layer(hidden, context, backend)
        return hidden
