"""MosaicBERT networks (``architecture/``) for the two tasks; other checkpoint formats are converted on import
(``mosaic_bert_import.py``), and exports carry the network's code (remote code, ``auto_map``).

Fine-tuning runs without attention dropout, as the original MosaicBERT forces it (``model_config`` may still set it).
"""

from __future__ import annotations

from mosaicbert.architecture import (
    MosaicBertConfig,
    MosaicBertForMaskedLM,
    MosaicBertForSequenceClassification,
    MosaicBertModel,
)
from mosaicbert.architecture.layers import MosaicBertLayer

from .mosaic_bert_import import NATIVE_FORMATS, mosaic_config, mosaic_weights
from .network import BERT_PRETRAINING_DROPOUTS, NetworkFamily

MOSAIC_BERT = NetworkFamily(
    name="mosaic_bert",
    config_class=MosaicBertConfig,
    task_classes={"mlm": MosaicBertForMaskedLM, "classification": MosaicBertForSequenceClassification},
    adapt_weights=mosaic_weights,
    layer_class=MosaicBertLayer,
    reads=NATIVE_FORMATS,  # its own checkpoints and the original MosaicBERT's
    pretraining_dropouts=BERT_PRETRAINING_DROPOUTS,
    source_config=mosaic_config,
    task_config={"classification": {"attention_probs_dropout_prob": 0.0}},
    graph_breaks="unpadding has data-dependent shapes (the numbers of real and of masked tokens, read with nonzero)",
    export_auto_classes={MosaicBertForMaskedLM: "AutoModelForMaskedLM",
                         MosaicBertForSequenceClassification: "AutoModelForSequenceClassification",
                         MosaicBertModel: "AutoModel"},
    variants={"mosaic_glu": {"ffn_type": "glu"}, "mosaic_mlp": {"ffn_type": "mlp"}},  # its two feed-forwards
)
