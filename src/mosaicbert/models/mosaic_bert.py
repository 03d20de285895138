"""MosaicBERT networks (``architecture/``) for every task; other checkpoint formats are converted on import
(``mosaic_bert_import.py``), and exports carry the network's code (remote code, ``auto_map``).

Fine-tuning runs without attention dropout, as the original MosaicBERT forces it (``model_config`` may still set it).
"""

from __future__ import annotations

from mosaicbert.architecture import (
    MosaicBertConfig,
    MosaicBertForMaskedLM,
    MosaicBertForQuestionAnswering,
    MosaicBertForSequenceClassification,
    MosaicBertForTokenClassification,
    MosaicBertModel,
)
from mosaicbert.architecture.layers import MosaicBertLayer

from .mosaic_bert_import import NATIVE_FORMATS, mosaic_config, mosaic_weights
from .network import BERT_PRETRAINING_DROPOUTS, ENCODER, NetworkFamily, bert_tokenizer_config

FINETUNING = ("classification", "token_classification", "question_answering", ENCODER)

MOSAIC_BERT = NetworkFamily(
    name="mosaic_bert",
    config_class=MosaicBertConfig,
    task_classes={"mlm": MosaicBertForMaskedLM, "classification": MosaicBertForSequenceClassification,
                  "token_classification": MosaicBertForTokenClassification,
                  "question_answering": MosaicBertForQuestionAnswering, ENCODER: MosaicBertModel},
    adapt_weights=mosaic_weights,
    layer_class=MosaicBertLayer,
    reads=NATIVE_FORMATS,  # its own checkpoints and the original MosaicBERT's
    pretraining_dropouts=BERT_PRETRAINING_DROPOUTS,
    tokenizer_config=bert_tokenizer_config,
    source_config=mosaic_config,
    task_config={task: {"attention_probs_dropout_prob": 0.0} for task in FINETUNING},
    graph_breaks="unpadding has data-dependent shapes (the numbers of real and of masked tokens, read with nonzero)",
    export_auto_classes={MosaicBertForMaskedLM: "AutoModelForMaskedLM",
                         MosaicBertForSequenceClassification: "AutoModelForSequenceClassification",
                         MosaicBertForTokenClassification: "AutoModelForTokenClassification",
                         MosaicBertForQuestionAnswering: "AutoModelForQuestionAnswering",
                         MosaicBertModel: "AutoModel"},
    variants={"mosaic_glu": {"ffn_type": "glu"}, "mosaic_mlp": {"ffn_type": "mlp"}},  # its two feed-forwards
)
