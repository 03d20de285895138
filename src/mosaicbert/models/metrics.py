"""Metrics of the two tasks, from Composer (MLM) and torchmetrics (classification).

The dictionaries' keys are the names Composer logs (``metrics/<evaluator>/<key>``):

- MLM: ``LanguageCrossEntropy`` and ``MaskedAccuracy``, both over masked tokens only. They receive
  logits of shape ``(num_masked, vocab)`` and the labels of those tokens.
- Classification: ``accuracy``, ``f1`` (binary tasks only) and ``matthews`` on predicted class ids;
  ``pearson`` and ``spearman`` on predicted scores when ``num_labels == 1`` (regression). The names are the
  GLUE metric names used by ``mosaicbert.finetune``.
"""

from __future__ import annotations

from composer.metrics import LanguageCrossEntropy, MaskedAccuracy
from torchmetrics import Metric, PearsonCorrCoef, SpearmanCorrCoef
from torchmetrics.classification import BinaryF1Score, MulticlassAccuracy, MulticlassMatthewsCorrCoef

from mosaicbert.architecture import IGNORE_INDEX


def mlm_metrics() -> dict[str, Metric]:
    """Fresh MLM metrics: cross-entropy and accuracy over masked tokens."""
    return {
        "LanguageCrossEntropy": LanguageCrossEntropy(ignore_index=IGNORE_INDEX),
        "MaskedAccuracy": MaskedAccuracy(ignore_index=IGNORE_INDEX),
    }


def classification_metrics(num_labels: int) -> dict[str, Metric]:
    """Fresh metrics for ``num_labels`` classes; ``num_labels == 1`` means regression."""
    if num_labels < 1:
        raise ValueError(f"num_labels={num_labels} must be >= 1 (1 = regression)")
    if num_labels == 1:
        return {"pearson": PearsonCorrCoef(), "spearman": SpearmanCorrCoef()}
    metrics: dict[str, Metric] = {
        "accuracy": MulticlassAccuracy(num_classes=num_labels, average="micro"),
        "matthews": MulticlassMatthewsCorrCoef(num_classes=num_labels),
    }
    if num_labels == 2:
        metrics["f1"] = BinaryF1Score()
    return metrics
