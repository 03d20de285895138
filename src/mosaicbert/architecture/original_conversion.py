"""Map a checkpoint of the original MosaicBERT (mosaicml/examples ``bert_layers.py``, Hub ``mosaicml/mosaic-bert-*``)
to this package: its config keys to ``MosaicBertConfig`` fields, its state-dict names to ours.

The original is the network of this package with ``position_embedding_type="alibi"``, ``ffn_type="glu"`` and
``glu_input_bias=False``; only names differ (original -> ours, after ``bert.encoder.layer.N.``):

- ``attention.self.Wqkv`` -> ``attention.Wqkv`` (same q|k|v x heads x head_dim layout)
- ``attention.output.dense`` / ``attention.output.LayerNorm`` -> ``attention.dense`` / ``attention.LayerNorm``
- ``mlp.gated_layers`` (no bias) -> ``mlp.wi``; ``mlp.wo`` -> ``mlp.wo``; ``mlp.layernorm`` -> ``mlp.LayerNorm``
- ``cls.predictions.transform.*`` / ``cls.predictions.decoder.*`` -> ``mlm_head.transform.*`` / ``mlm_head.decoder.*``
- ``bert.embeddings.*``, ``bert.pooler.dense``, ``classifier`` keep their names.

The original's config is a transformers ``BertConfig`` (``model_type: bert``) whose ``vocab_size`` is already
padded (30522 -> 30528), plus ``alibi_starting_size``; it ignores ``position_embedding_type`` (always ALiBi)
and defaults ``attention_probs_dropout_prob`` to 0.0.
"""

from __future__ import annotations

import re
from typing import Mapping

import torch

# Config keys of the original that carry over unchanged.
ORIGINAL_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                        "hidden_act", "type_vocab_size", "layer_norm_eps", "pad_token_id", "initializer_range",
                        "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                        "max_position_embeddings", "alibi_starting_size", "id2label", "label2id", "problem_type")
# What the original hard-codes, in our config's terms (its vocabulary is padded already: no more rows).
ORIGINAL_FIXED_CONFIG = {"position_embedding_type": "alibi", "ffn_type": "glu", "glu_input_bias": False,
                         "pad_vocab_size_multiple": 1}
ORIGINAL_DEFAULT_CONFIG = {"attention_probs_dropout_prob": 0.0}

# (pattern on the full key, replacement): original name -> ours.
_RENAMES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^bert\.encoder\.layer\.(\d+)\.attention\.self\.Wqkv\.(weight|bias)$"),
     r"bert.encoder.layer.\1.attention.Wqkv.\2"),
    (re.compile(r"^bert\.encoder\.layer\.(\d+)\.attention\.output\.(dense|LayerNorm)\.(weight|bias)$"),
     r"bert.encoder.layer.\1.attention.\2.\3"),
    (re.compile(r"^bert\.encoder\.layer\.(\d+)\.mlp\.gated_layers\.weight$"), r"bert.encoder.layer.\1.mlp.wi.weight"),
    (re.compile(r"^bert\.encoder\.layer\.(\d+)\.mlp\.layernorm\.(weight|bias)$"),
     r"bert.encoder.layer.\1.mlp.LayerNorm.\2"),
    (re.compile(r"^cls\.predictions\.(transform\.(?:dense|LayerNorm)|decoder)\.(weight|bias)$"), r"mlm_head.\1.\2"),
]
# Names every original encoder has (``{i}`` = layer index); heads are checked by the caller's loader.
ORIGINAL_ENCODER_NAMES = ("bert.embeddings.word_embeddings.weight", "bert.embeddings.token_type_embeddings.weight",
                          "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias")
ORIGINAL_LAYER_NAMES = tuple(
    f"bert.encoder.layer.{{i}}.{name}" for name in (
        "attention.self.Wqkv.weight", "attention.self.Wqkv.bias", "attention.output.dense.weight",
        "attention.output.dense.bias", "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
        "mlp.gated_layers.weight", "mlp.wo.weight", "mlp.wo.bias", "mlp.layernorm.weight", "mlp.layernorm.bias"))
_BUFFERS = {"bert.embeddings.token_type_ids", "bert.embeddings.position_ids"}  # constant buffers, not weights
_SIGNATURE = re.compile(r"^bert\.encoder\.layer\.\d+\.(attention\.self\.Wqkv|mlp\.gated_layers)\.weight$")


def is_original_state_dict(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """The keys are the original MosaicBERT's (fused ``attention.self.Wqkv`` or ``mlp.gated_layers``)."""
    return any(_SIGNATURE.match(key) for key in state_dict)


def original_config_fields(original_config: Mapping) -> dict:
    """``MosaicBertConfig`` fields for an original config.json; raises on what our network cannot compute."""
    act = original_config.get("hidden_act", "gelu")
    if act != "gelu":
        raise ValueError(f"original MosaicBERT config has hidden_act={act!r}; its GeGLU is hard-wired to exact GELU "
                         "and this import supports only 'gelu'")
    fields = dict(ORIGINAL_DEFAULT_CONFIG)
    fields.update({key: original_config[key] for key in ORIGINAL_CONFIG_KEYS if key in original_config})
    fields.update(ORIGINAL_FIXED_CONFIG)
    return fields


def missing_original_names(state_dict: Mapping[str, torch.Tensor], config) -> list[str]:
    """Encoder names an original MosaicBERT state dict of ``config``'s shape must have but ``state_dict`` lacks."""
    required = list(ORIGINAL_ENCODER_NAMES)
    required += [name.format(i=i) for i in range(config.num_hidden_layers) for name in ORIGINAL_LAYER_NAMES]
    return [name for name in required if name not in state_dict]


def convert_original_state_dict(state_dict: Mapping[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """Our state dict from an original MosaicBERT one (``bert.``-prefixed keys); buffers are dropped.

    Keys this mapping does not know are passed through, so the caller's loader reports them as unexpected.
    """
    converted = {}
    for key, tensor in state_dict.items():
        if key in _BUFFERS:
            continue
        for pattern, replacement in _RENAMES:
            if pattern.match(key):
                key = pattern.sub(replacement, key)
                break
        converted[key] = tensor
    return converted
