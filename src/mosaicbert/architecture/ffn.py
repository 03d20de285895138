"""Feed-forward sublayers (post-LN, on unpadded tokens), selected by ``config.ffn_type``."""

from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN

from .dropout import HashDropout
from .layer_norm import build_layer_norm


class MosaicBertMLP(nn.Module):
    """BERT's feed-forward: LN(x + dropout(wo(act(wi(x)))))."""

    def __init__(self, config):
        super().__init__()
        self.wi = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACT2FN[config.hidden_act]
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = HashDropout(config.hidden_dropout_prob)
        self.LayerNorm = build_layer_norm(config)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(hidden + self.dropout(self.wo(self.act(self.wi(hidden)))))


class MosaicBertGLU(nn.Module):
    """GeGLU feed-forward as in the original MosaicBERT: LN(x + wo(dropout(act(gate) * value))).

    One fused projection without bias (``glu_input_bias=True`` only for checkpoints of earlier versions of this
    recipe, which had one) gives gate and value; dropout acts on the gated intermediate activation, before wo.
    """

    def __init__(self, config):
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.wi = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=config.glu_input_bias)
        self.act = ACT2FN[config.hidden_act]
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = HashDropout(config.hidden_dropout_prob)
        self.LayerNorm = build_layer_norm(config)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        gate, value = self.wi(hidden).split(self.intermediate_size, dim=-1)
        return self.LayerNorm(hidden + self.wo(self.dropout(self.act(gate) * value)))


FFN_REGISTRY: dict[str, type[nn.Module]] = {"mlp": MosaicBertMLP, "glu": MosaicBertGLU}
