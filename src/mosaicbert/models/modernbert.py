"""ModernBERT (AnswerDotAI, 2024) as a family: transformers' own ``ModernBertForMaskedLM``,
``...ForSequenceClassification``, ``...ForTokenClassification``, ``...ForQuestionAnswering``, ``ModernBertModel``,
built from config like ``hf_bert``; exported natively (no remote code).

The MLM network decodes masked tokens only (``sparse_prediction``). Attention is what transformers picks: flash-attn
2 with unpadding on a GPU that has it, SDPA over padded batches elsewhere. The special-token ids and the vocabulary
size come from the tokenizer (``ModernBertConfig`` defaults to ModernBERT's own 50,368-entry vocabulary, with
``pad_token_id=50283``, out of range for any other tokenizer); the vocabulary is padded to a multiple of 64.
"""

from __future__ import annotations

import math
import re

import torch
from torch.nn import functional as F
from transformers import (
    ModernBertConfig,
    ModernBertForMaskedLM,
    ModernBertForQuestionAnswering,
    ModernBertForSequenceClassification,
    ModernBertForTokenClassification,
    ModernBertModel,
    PretrainedConfig,
    PreTrainedTokenizerBase,
)
from transformers.modeling_outputs import MaskedLMOutput
from transformers.models.modernbert.modeling_modernbert import ModernBertEncoderLayer

from .flops import FlopShape
from .network import ENCODER, NetworkFamily, model_type_kind
from .weights import KeyLayout, SourceWeights

VOCAB_MULTIPLE = 64
# the recipe's own choices whatever the source checkpoint says: masked tokens only (MLM), no reference_compile
# (compile_config compiles the whole network; transformers would compile the MLP and head on its own on a GPU)
TASK_CONFIG = {"mlm": {"sparse_prediction": True, "reference_compile": False},
               **{task: {"reference_compile": False}
                  for task in ("classification", "token_classification", "question_answering", ENCODER)}}
# the MLM checkpoint's head (dense -> GELU -> norm) is every task head's first part too
HEADS = ("classifier", "head")


class SparseModernBertForMaskedLM(ModernBertForMaskedLM):
    """``ModernBertForMaskedLM`` whose loss pass decodes the masked tokens only, under every attention implementation.

    With flash-attn, transformers' own forward re-pads the masked-token logits with the indices of all real tokens
    (a shape error whenever fewer than all are masked). Here the encoder returns padded hidden states under every
    implementation, and the head runs on the labelled positions; without labels, transformers' forward runs as it is.
    The export is plain ``ModernBertForMaskedLM`` (same weights and config: ``hf_io.export_to_hf``).
    """

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **kwargs) -> MaskedLMOutput:
        if labels is None or not self.sparse_prediction:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, labels=labels, **kwargs)
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        positions = labels != self.sparse_pred_ignore_index
        logits = self.decoder(self.head(hidden[positions]))
        loss = F.cross_entropy(logits.float(), labels[positions])
        return MaskedLMOutput(loss=loss, logits=logits)


def tokenizer_config(tokenizer: PreTrainedTokenizerBase) -> dict:
    """Vocabulary size (the tokenizer's, padded to a multiple of 64) and special-token ids from the tokenizer."""
    return {"vocab_size": math.ceil(len(tokenizer) / VOCAB_MULTIPLE) * VOCAB_MULTIPLE,
            "pad_token_id": tokenizer.pad_token_id,
            "cls_token_id": tokenizer.cls_token_id, "bos_token_id": tokenizer.cls_token_id,
            "sep_token_id": tokenizer.sep_token_id, "eos_token_id": tokenizer.sep_token_id}


def source_config(source: SourceWeights) -> dict:
    """The config of a ModernBERT checkpoint; other families' weights do not fit ModernBERT."""
    if source.model_type != ModernBertConfig.model_type:
        raise ValueError(f"init_from={source.origin!r} holds a {source.model_type!r} model; "
                         "modernbert starts only from ModernBERT ('modernbert') weights")
    return source.network_config()


def modernbert_weights(source: SourceWeights, config: PretrainedConfig) -> dict[str, torch.Tensor]:
    """ModernBERT weights are used as they are (keys under ``model.``, headless checkpoints prefixed on reading)."""
    return source.state_dict


def is_global_layer(config: ModernBertConfig, layer: int) -> bool:
    """Global attention every ``global_attn_every_n_layers``-th layer, starting with the first (transformers' rule)."""
    return layer % config.global_attn_every_n_layers == 0


def modernbert_flop_shape(config: ModernBertConfig) -> FlopShape:
    """GeGLU FFN (three hidden x intermediate matrices), local layers attend ``local_attention // 2`` tokens on each
    side; the encoder runs on real tokens only with flash-attn (unpadding), on every slot otherwise (SDPA)."""
    half = config.local_attention // 2
    return FlopShape(hidden=config.hidden_size, layers=config.num_hidden_layers,
                     intermediate=config.intermediate_size, ffn_matrices=3, vocab_rows=config.vocab_size,
                     num_labels=config.num_labels,
                     attention_half_windows=tuple(None if is_global_layer(config, i) else half
                                                  for i in range(config.num_hidden_layers)),
                     computes_padding=config._attn_implementation != "flash_attention_2")


MODERNBERT = NetworkFamily(
    name="modernbert",
    config_class=ModernBertConfig,
    task_classes={"mlm": SparseModernBertForMaskedLM, "classification": ModernBertForSequenceClassification,
                  "token_classification": ModernBertForTokenClassification,
                  "question_answering": ModernBertForQuestionAnswering, ENCODER: ModernBertModel},
    adapt_weights=modernbert_weights,
    layer_class=ModernBertEncoderLayer,
    reads=(model_type_kind(ModernBertConfig.model_type),),
    pretraining_dropouts={"attention_dropout": 0.0, "embedding_dropout": 0.0, "mlp_dropout": 0.0},
    source_config=source_config,
    task_config=TASK_CONFIG,
    tokenizer_config=tokenizer_config,
    key_layout=KeyLayout("model.", re.compile(r"model\.layers\.(\d+)\.")),
    flop_shape=modernbert_flop_shape,
    new_heads={"classification": HEADS, "token_classification": HEADS, "question_answering": HEADS, ENCODER: ()},
    max_length=lambda config: config.max_position_embeddings,
    block_mask=False,  # transformers' ModernBERT builds its own 4-D (sliding-window) masks from a 2-D one
    input_names=("input_ids", "attention_mask"),
)
