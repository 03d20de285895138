"""MosaicBERT networks (``architecture/``) for the two tasks; other checkpoint formats are converted on import.

Fine-tuning runs without attention dropout, as the original MosaicBERT forces it (``model_config`` may still set it).
"""

from __future__ import annotations

from mosaicbert.architecture import MosaicBertConfig, MosaicBertForMaskedLM, MosaicBertForSequenceClassification
from mosaicbert.architecture.layers import MosaicBertLayer

from .hf_io import mosaic_config, mosaic_weights
from .network import NetworkFamily

MOSAIC_BERT = NetworkFamily(
    name="mosaic_bert",
    config_class=MosaicBertConfig,
    task_classes={"mlm": MosaicBertForMaskedLM, "classification": MosaicBertForSequenceClassification},
    adapt_weights=mosaic_weights,
    layer_class=MosaicBertLayer,
    source_config=mosaic_config,
    task_config={"classification": {"attention_probs_dropout_prob": 0.0}},
    graph_breaks="unpadding has data-dependent shapes (the numbers of real and of masked tokens, read with nonzero)",
)
