"""MosaicBERT networks (``architecture/``) for the two tasks; BERT checkpoints are converted on import."""

from __future__ import annotations

from mosaicbert.architecture import MosaicBertConfig, MosaicBertForMaskedLM, MosaicBertForSequenceClassification
from mosaicbert.architecture.layers import MosaicBertLayer

from .hf_io import mosaic_weights
from .network import NetworkFamily

MOSAIC_BERT = NetworkFamily(
    name="mosaic_bert",
    config_class=MosaicBertConfig,
    task_classes={"mlm": MosaicBertForMaskedLM, "classification": MosaicBertForSequenceClassification},
    adapt_weights=mosaic_weights,
    layer_class=MosaicBertLayer,
)
