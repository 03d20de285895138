"""ComposerModel wrappers of the tasks, shared by every model family.

Each wraps a transformers-style network (``forward(input_ids, attention_mask, token_type_ids, labels)``
returning a ``ModelOutput`` with ``loss`` and ``logits``; extractive QA: ``start_positions``/``end_positions`` in,
``start_logits``/``end_logits`` out) through Composer's ``HuggingFaceModel``, so Composer checkpoints carry the
network's config and the tokenizer, and the weights sit under ``model.``. Token classification and QA score what only
the whole evaluation set can tell (entities over words, answers over windows): their metrics come from the task
that reads the data (``eval_metrics``), and see each batch whole.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import torch
from composer.models import HuggingFaceModel
from torchmetrics import Metric
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mosaicbert.architecture import IGNORE_INDEX
from mosaicbert.architecture.padding import DOCUMENT_IDS

from .autocast import AutocastMixin, resolve_autocast_dtype
from .document_mask import block_diagonal_inputs
from .metrics import classification_metrics, mlm_metrics

log = logging.getLogger(__name__)


def masked_positions(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Boolean ``(batch, seq)`` mask of the tokens to predict: labelled and not padding."""
    positions = batch["labels"] != IGNORE_INDEX
    if "attention_mask" in batch:
        positions &= batch["attention_mask"].bool()
    return positions


class _TaskModel(AutocastMixin, HuggingFaceModel):
    """``HuggingFaceModel`` with our own metrics dictionaries and optional autocast.

    ``block_mask`` and ``family_name``: what the network's family says of packed rows (``NetworkFamily.block_mask``)
    and its name (in the warning when it takes no 3-D mask); ``build.wrap_network`` passes them."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase | None,
                 metrics: dict[str, Metric], eval_metrics: dict[str, Metric], autocast_dtype=None,
                 block_mask: bool = True, family_name: str | None = None):
        super().__init__(model, tokenizer=tokenizer, shift_labels=False)
        self.autocast_dtype = resolve_autocast_dtype(autocast_dtype)
        self.train_metrics = metrics
        self.val_metrics = eval_metrics
        self.block_mask = block_mask
        self.family_name = family_name or type(model).__name__

    def forward(self, batch):
        """Packed rows (``document_ids``) reach a network without that argument as a block-diagonal mask, or, for a
        family that takes no 3-D mask (``block_mask=False``), as plain rows (its documents cross-attend)."""
        if DOCUMENT_IDS in batch and DOCUMENT_IDS not in self.model_forward_args:
            if self.block_mask:
                batch = block_diagonal_inputs(batch)
            else:
                if not getattr(self, "_warned_cross_attention", False):
                    log.warning("%s keeps no document boundaries inside packed rows: its documents attend to each "
                                "other (set the loaders' document_boundaries: false to say so)", self.family_name)
                    self._warned_cross_attention = True
                batch = {key: value for key, value in batch.items() if key != DOCUMENT_IDS}
        return super().forward(batch)

    def logits(self, batch: Mapping[str, torch.Tensor], outputs: Any = None) -> torch.Tensor:
        """Logits of ``outputs`` (a ModelOutput from training), or of a new forward pass on ``batch``."""
        if outputs is None:
            outputs = self.forward(batch)
        return outputs["logits"]


class MaskedLMComposerModel(_TaskModel):
    """Masked language modelling: loss and metrics over the masked tokens only.

    ``eval_forward`` returns fp32 logits of shape ``(num_masked, vocab)``, rows in the order of
    ``labels[masked_positions(batch)]``. Networks that compute logits only at masked positions when given
    labels (MosaicBERT) never compute the others; full ``(batch, seq, vocab)`` logits are indexed down.
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase | None = None,
                 autocast_dtype=None, block_mask: bool = True, family_name: str | None = None):
        super().__init__(model, tokenizer, mlm_metrics(), mlm_metrics(), autocast_dtype, block_mask, family_name)

    def eval_forward(self, batch, outputs=None):
        logits = self.logits(batch, outputs)
        if logits.dim() == 3:
            logits = logits[masked_positions(batch)]
        return logits.float()

    def update_metric(self, batch, outputs, metric):
        targets = batch["labels"][masked_positions(batch)]
        if targets.numel():  # a batch without a masked token adds nothing (Composer's metrics cannot take it)
            metric.update(outputs, targets)


class SequenceClassificationComposerModel(_TaskModel):
    """Sequence (pair) classification, or regression when ``config.num_labels == 1``.

    ``eval_forward`` returns predictions: class ids (``long``), or scores (``float``) for regression.
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase | None = None,
                 autocast_dtype=None, block_mask: bool = True, family_name: str | None = None):
        num_labels = model.config.num_labels
        super().__init__(model, tokenizer, classification_metrics(num_labels), classification_metrics(num_labels),
                         autocast_dtype, block_mask, family_name)

    @property
    def is_regression(self) -> bool:
        return self.config.num_labels == 1

    def eval_forward(self, batch, outputs=None):
        logits = self.logits(batch, outputs).float()
        return logits.squeeze(-1) if self.is_regression else logits.argmax(dim=-1)

    def update_metric(self, batch, outputs, metric):
        metric.update(outputs, batch["labels"].to(outputs.dtype) if self.is_regression else batch["labels"])


class TokenClassificationComposerModel(_TaskModel):
    """A label per token. ``eval_forward`` returns the predicted label ids ``(batch, seq)``; ``update_metric`` passes
    them with the whole batch (its ``labels`` and any bookkeeping keys the task's dataloader adds) to the metric,
    which the fine-tuning task supplies (``eval_metrics``): entity-level scores need words, not tokens."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase | None = None,
                 autocast_dtype=None, block_mask: bool = True, family_name: str | None = None,
                 eval_metrics: dict[str, Metric] | None = None):
        super().__init__(model, tokenizer, {}, dict(eval_metrics or {}), autocast_dtype, block_mask, family_name)

    def eval_forward(self, batch, outputs=None):
        return self.logits(batch, outputs).argmax(dim=-1)

    def update_metric(self, batch, outputs, metric):
        metric.update(outputs, batch)


class QuestionAnsweringComposerModel(_TaskModel):
    """Extractive QA. ``eval_forward`` returns fp32 ``(batch, seq, 2)`` start and end logits; ``update_metric`` passes
    them with the whole batch to the task's metric (``eval_metrics``), which maps windows back to answers."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase | None = None,
                 autocast_dtype=None, block_mask: bool = True, family_name: str | None = None,
                 eval_metrics: dict[str, Metric] | None = None):
        super().__init__(model, tokenizer, {}, dict(eval_metrics or {}), autocast_dtype, block_mask, family_name)

    def eval_forward(self, batch, outputs=None):
        if outputs is None:
            outputs = self.forward(batch)
        return torch.stack([outputs["start_logits"], outputs["end_logits"]], dim=-1).float()

    def update_metric(self, batch, outputs, metric):
        metric.update(outputs, batch)
