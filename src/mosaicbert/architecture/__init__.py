"""The MosaicBERT network: pure torch + transformers, no Composer (files are exported as HF remote code).

Public API (stable):

- ``MosaicBertConfig(BertConfig)`` (``model_type="mosaic_bert"``): bert-base defaults plus
  ``position_embedding_type`` ("alibi" | "absolute"), ``ffn_type`` ("glu" | "mlp"), ``attention_backend``
  ("auto" | "flash_attn" | "sdpa" | "reference"), ``pad_vocab_size_multiple`` (64), ``alibi_starting_size`` (512),
  ``low_precision_layernorm`` (True), ``glu_input_bias`` (False: the original MosaicBERT; True only for
  checkpoints of earlier versions); ``attention_probs_dropout_prob`` defaults to 0.0; property ``padded_vocab_size``.
- ``MosaicBertModel(config, add_pooling_layer=True)``:
  ``forward(input_ids, attention_mask=None, token_type_ids=None, position_ids=None, return_dict=None,
  document_ids=None)`` -> ``BaseModelOutputWithPooling`` (``last_hidden_state`` (B, S, hidden), zeros at padding; ``pooler_output``).
  ``encode(input_ids, attention_mask=None, token_type_ids=None, position_ids=None, document_ids=None)``
  -> ``(hidden (total_real_tokens, hidden), PaddingInfo)`` for heads that work on unpadded tokens.
  ``document_ids`` (B, S) (packed rows, MLM too): each run of equal ids is its own sequence (attention, ALiBi
  distances and absolute positions restart at each document); the pooler still reads each row's first token.
- ``MosaicBertForMaskedLM(config)``: ``forward(input_ids, attention_mask=None, token_type_ids=None,
  position_ids=None, labels=None, return_dict=None)`` -> ``MaskedLMOutput``. With ``labels`` (``IGNORE_INDEX``,
  -100: not masked): ``logits`` has shape (num_masked, vocab_size), rows in the order of
  ``labels[labels != -100]`` (labels at padding positions are ignored), ``loss`` = mean CE over masked tokens
  (0 when nothing is masked). Without labels: full (B, S, vocab_size) logits (fill-mask pipeline). Decoder tied
  to the word embeddings.
- ``MosaicBertForSequenceClassification(config)``: same arguments -> ``SequenceClassifierOutput`` with logits
  (B, num_labels); loss per ``config.problem_type`` as in transformers (MSE when num_labels == 1, else CE for
  integer labels, BCE for float multi-label).
- ``MosaicBertForTokenClassification(config)``: same arguments -> ``TokenClassifierOutput``, logits (B, S,
  num_labels) (zeros at padding), loss = CE over labelled tokens. ``MosaicBertForQuestionAnswering(config)``:
  ``start_positions``/``end_positions`` instead of ``labels`` -> ``QuestionAnsweringModelOutput`` with
  ``start_logits``/``end_logits`` (B, S), ``-inf`` at padding. Both run their head on unpadded tokens.
- ``convert_bert_state_dict(hf_state_dict, config) -> dict``: transformers BertModel / BertForMaskedLM /
  BertForSequenceClassification keys -> ours (q, k, v fused into ``Wqkv``; position embeddings dropped for ALiBi;
  vocab rows padded). A ``bert.`` prefix is kept if present. ``original_conversion``: the original MosaicBERT's
  (mosaicml/examples) config keys and state-dict names -> ours.
- Building blocks: ``ATTENTION_BACKENDS`` (name -> fn(qkv (total, 3, H, D), ``AttentionContext`` (int32
  cu_seqlens, max_seqlen, ALiBi slopes and bias), dropout_p, training) -> (total, H, D)), ``resolve_attention_backend``,
  ``FFN_REGISTRY``, ``alibi_slopes``, ``PaddingInfo``/``padding_info``/``unpad``/``repad``.
"""

from .alibi import alibi_slopes
from .attention import ATTENTION_BACKENDS, AttentionContext, resolve_attention_backend
from .bert_conversion import convert_bert_state_dict
from .configuration_mosaic_bert import MosaicBertConfig
from .ffn import FFN_REGISTRY
from .modeling_mosaic_bert import (
    IGNORE_INDEX,
    MosaicBertForMaskedLM,
    MosaicBertForQuestionAnswering,
    MosaicBertForSequenceClassification,
    MosaicBertForTokenClassification,
    MosaicBertModel,
    MosaicBertPreTrainedModel,
)
from .padding import PaddingInfo, padding_info, repad, unpad

__all__ = [
    "ATTENTION_BACKENDS",
    "AttentionContext",
    "FFN_REGISTRY",
    "IGNORE_INDEX",
    "MosaicBertConfig",
    "MosaicBertForMaskedLM",
    "MosaicBertForQuestionAnswering",
    "MosaicBertForSequenceClassification",
    "MosaicBertForTokenClassification",
    "MosaicBertModel",
    "MosaicBertPreTrainedModel",
    "PaddingInfo",
    "alibi_slopes",
    "convert_bert_state_dict",
    "padding_info",
    "repad",
    "resolve_attention_backend",
    "unpad",
]
