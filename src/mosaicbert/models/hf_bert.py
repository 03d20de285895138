"""The baseline: transformers' BERT (BertForMaskedLM, ...ForSequenceClassification, ...ForTokenClassification,
...ForQuestionAnswering, BertModel), built offline from config."""

from __future__ import annotations

from functools import partial

import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
    PretrainedConfig,
)
from transformers.models.bert.modeling_bert import BertLayer

from .flops import bert_flop_shape
from .network import BERT_PRETRAINING_DROPOUTS, ENCODER, NetworkFamily, bert_tokenizer_config, model_type_kind
from .weights import SourceWeights


def bert_weights(source: SourceWeights, config: PretrainedConfig) -> dict[str, torch.Tensor]:
    """transformers BERT weights are used as they are; other families cannot be loaded into BERT."""
    if source.model_type != "bert":
        raise ValueError(f"init_from={source.origin!r} holds a {source.model_type!r} model; "
                         "hf_bert starts only from BERT ('bert') weights")
    return source.state_dict


HF_BERT = NetworkFamily(
    name="hf_bert",
    config_class=BertConfig,
    task_classes={"mlm": BertForMaskedLM, "classification": BertForSequenceClassification,
                  "token_classification": BertForTokenClassification, "question_answering": BertForQuestionAnswering,
                  ENCODER: BertModel},
    adapt_weights=bert_weights,
    layer_class=BertLayer,
    reads=(model_type_kind(BertConfig.model_type),),
    pretraining_dropouts=BERT_PRETRAINING_DROPOUTS,  # MosaicBERT's recipe
    tokenizer_config=bert_tokenizer_config,
    flop_shape=partial(bert_flop_shape, padded=True),  # runs on every padded slot and decodes every one
)
