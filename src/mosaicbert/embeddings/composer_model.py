"""The sentence pipeline and its sentence-transformers loss as a Composer model. The loss embeds the batch's text
columns itself (the cached loss in mini-batches, re-embedding them in its backward pass), so ``forward`` returns
the loss: under DDP the embedding then runs inside the wrapped forward, whose parameters DDP synchronises."""

from __future__ import annotations

from composer.models import ComposerModel
from torch import nn


class SentenceEmbeddingModel(ComposerModel):
    """``pipeline`` (``encoder_module.sentence_pipeline``) trained by ``loss`` (built around that pipeline)."""

    def __init__(self, pipeline: nn.Sequential, loss: nn.Module):
        super().__init__()
        self.pipeline = pipeline
        self._loss = [loss]  # not a submodule: it holds the pipeline, whose weights would be saved twice

    def forward(self, batch: dict):
        return self._loss[0](batch["features"], batch["labels"])

    def loss(self, outputs, batch: dict):
        return outputs

    def eval_forward(self, batch: dict, outputs=None):
        return outputs

    def get_metrics(self, is_train: bool = False) -> dict:
        return {}
