"""Task heads: MLM (decoder tied to the word embeddings), pooler, sequence classification loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.activations import ACT2FN

from .layer_norm import build_layer_norm


class MosaicBertPredictionHeadTransform(nn.Module):
    """dense -> activation -> LayerNorm, before the vocabulary projection."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = ACT2FN[config.hidden_act]
        self.LayerNorm = build_layer_norm(config)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.act(self.dense(hidden)))


class MosaicBertMLMHead(nn.Module):
    """Vocabulary logits of exactly ``vocab_size`` columns; the padded decoder rows are never predicted."""

    def __init__(self, config):
        super().__init__()
        self.vocab_size = config.vocab_size
        self.transform = MosaicBertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.padded_vocab_size)  # weight tied to word embeddings

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden))[..., : self.vocab_size]


class MosaicBertPooler(nn.Module):
    """tanh(dense(first token)) as in BERT; takes the first token of each sequence."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, first_tokens: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(first_tokens))


def _regression_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """MSE in fp32: bf16 would round the targets (3.8 -> 3.797) and the loss."""
    with torch.autocast(logits.device.type, enabled=False):
        return F.mse_loss(logits.squeeze(-1).float(), labels.float().view(-1))


def _single_label_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels.view(-1))


def _multi_label_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


CLASSIFICATION_LOSSES = {
    "regression": _regression_loss,
    "single_label_classification": _single_label_loss,
    "multi_label_classification": _multi_label_loss,
}


def classification_problem_type(config, labels: torch.Tensor) -> str:
    """``config.problem_type`` or, like transformers, inferred from ``num_labels`` and the label dtype."""
    if config.problem_type is not None:
        return config.problem_type
    if config.num_labels == 1:
        return "regression"
    if labels.dtype in (torch.long, torch.int):
        return "single_label_classification"
    return "multi_label_classification"
