"""Map a transformers BERT state dict (BertModel, BertForMaskedLM, BertForSequenceClassification) to MosaicBERT.

Query, key and value projections are fused into ``Wqkv``; position embeddings are dropped for ALiBi; word
embeddings and the MLM decoder are padded to ``config.padded_vocab_size`` rows (zeros, never predicted);
the NSP head and buffers are dropped. Keys this mapping does not know are passed through unchanged, so the
caller's ``load_state_dict`` reports them as unexpected.
"""

from __future__ import annotations

import re
from typing import Mapping

import torch

# (pattern on the key without the "bert." prefix, replacement); None drops the key.
_RENAMES: list[tuple[re.Pattern, str | None]] = [
    (re.compile(r"^embeddings\.(position_ids|token_type_ids)$"), None),
    (re.compile(r"^cls\.seq_relationship\..*$"), None),
    (re.compile(r"^encoder\.layer\.(\d+)\.attention\.output\.(dense|LayerNorm)\.(\w+)$"),
     r"encoder.layer.\1.attention.\2.\3"),
    (re.compile(r"^encoder\.layer\.(\d+)\.intermediate\.dense\.(\w+)$"), r"encoder.layer.\1.mlp.wi.\2"),
    (re.compile(r"^encoder\.layer\.(\d+)\.output\.dense\.(\w+)$"), r"encoder.layer.\1.mlp.wo.\2"),
    (re.compile(r"^encoder\.layer\.(\d+)\.output\.LayerNorm\.(\w+)$"), r"encoder.layer.\1.mlp.LayerNorm.\2"),
    (re.compile(r"^cls\.predictions\.transform\.(.*)$"), r"mlm_head.transform.\1"),
    (re.compile(r"^cls\.predictions\.decoder\.weight$"), r"mlm_head.decoder.weight"),
    (re.compile(r"^cls\.predictions\.(decoder\.)?bias$"), r"mlm_head.decoder.bias"),
]
_QKV = re.compile(r"^encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.(weight|bias)$")
_FFN = re.compile(r"^encoder\.layer\.\d+\.(intermediate|output)\.dense\.")
_VOCAB_ROWS = {"embeddings.word_embeddings.weight", "mlm_head.decoder.weight", "mlm_head.decoder.bias"}
_LEGACY_LAYER_NORM = [(re.compile(r"\.gamma$"), ".weight"), (re.compile(r"\.beta$"), ".bias")]


def _pad_rows(tensor: torch.Tensor, rows: int) -> torch.Tensor:
    if tensor.shape[0] > rows:
        raise ValueError(f"checkpoint vocabulary has {tensor.shape[0]} rows, more than the config's {rows}")
    return torch.cat([tensor, tensor.new_zeros(rows - tensor.shape[0], *tensor.shape[1:])])


def convert_bert_state_dict(hf_state_dict: Mapping[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """Our state dict for ``config`` from a transformers BERT one; the ``bert.`` prefix is kept if present."""
    converted: dict[str, torch.Tensor] = {}
    qkv_parts: dict[tuple[str, str, str], dict[str, torch.Tensor]] = {}
    for key, tensor in hf_state_dict.items():
        for pattern, name in _LEGACY_LAYER_NORM:
            key = pattern.sub(name, key)
        prefix = "bert." if key.startswith("bert.") else ""
        local = key[len(prefix):]
        if config.ffn_type != "mlp" and _FFN.match(local):
            raise ValueError(f"{key}: transformers BERT has an MLP feed-forward; it loads only into "
                             f"ffn_type='mlp' (config has ffn_type={config.ffn_type!r})")
        if local == "embeddings.position_embeddings.weight" and config.position_embedding_type == "alibi":
            continue
        qkv = _QKV.match(local)
        if qkv:
            layer, projection, param = qkv.groups()
            qkv_parts.setdefault((prefix, layer, param), {})[projection] = tensor
            continue
        for pattern, replacement in _RENAMES:
            if pattern.match(local):
                local = None if replacement is None else pattern.sub(replacement, local)
                break
        if local is None:
            continue
        if local in _VOCAB_ROWS:
            tensor = _pad_rows(tensor, config.padded_vocab_size)
        converted[prefix + local] = tensor
    for (prefix, layer, param), parts in qkv_parts.items():
        if set(parts) != {"query", "key", "value"}:
            raise ValueError(f"layer {layer}: attention {param} has only {sorted(parts)}; need query, key, value")
        fused = torch.cat([parts["query"], parts["key"], parts["value"]])
        converted[f"{prefix}encoder.layer.{layer}.attention.Wqkv.{param}"] = fused
    return converted
