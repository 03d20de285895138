"""MosaicBERT's checkpoint formats: what ``mosaic_bert`` imports, and how (``SOURCE_FORMATS``, the first format
that recognises the source wins; local directory, Hub name or Composer checkpoint, see ``weights.read_weights``):

- ``mosaic_bert``: this recipe's own checkpoints, as they are. Checkpoints of earlier versions have a bias on
  the GeGLU in-projection (``mlp.wi.bias``): detected from the state dict, logged, and kept with
  ``glu_input_bias=True``.
- ``original_mosaic_bert``: the original MosaicBERT (mosaicml/examples, Hub ``mosaicml/mosaic-bert-base``
  and its variants), recognised by its ``attention.self.Wqkv`` / ``mlp.gated_layers`` keys; names and config keys
  mapped by ``architecture.original_conversion``. Its remote code is never executed.
- ``bert``: any transformers BERT checkpoint (``BertModel``, ``BertForMaskedLM``, ``BertForPreTraining``,
  ``BertForSequenceClassification``), converted with ``architecture.convert_bert_state_dict``. With
  ``position_embedding_type="absolute"`` and ``ffn_type="mlp"`` the MosaicBERT computes exactly what the
  source computes; with ALiBi the position embeddings are dropped.

The first two are read natively (``NATIVE_FORMATS``: the family that scores them); plain BERT is ``hf_bert``'s.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable

import torch
from transformers import PretrainedConfig

from mosaicbert.architecture import MosaicBertConfig, convert_bert_state_dict
from mosaicbert.architecture.original_conversion import (
    convert_original_state_dict,
    is_original_state_dict,
    missing_original_names,
    original_config_fields,
)

from .network import CheckpointKind, bert_shape_fields
from .weights import SourceWeights, UnreadableWeightsError, WeightsMismatchError

log = logging.getLogger(__name__)

_LEGACY_GLU_BIAS = re.compile(r"\.mlp\.wi\.bias$")


def _own_config(source: SourceWeights) -> dict:
    """A checkpoint of this recipe: its config; a GeGLU in-projection bias (earlier versions) is kept."""
    fields = source.network_config()
    has_bias = any(_LEGACY_GLU_BIAS.search(key) for key in source.state_dict)
    if fields.get("ffn_type", "glu") == "glu" and "glu_input_bias" not in fields and has_bias:
        log.warning("%s was written by an earlier version of this recipe (GeGLU in-projection with bias): loading "
                    "it with glu_input_bias=True; the original MosaicBERT has no such bias", source.origin)
        fields["glu_input_bias"] = True
    return fields


def _original_weights(source: SourceWeights, config: PretrainedConfig) -> dict[str, torch.Tensor]:
    missing = missing_original_names(source.state_dict, config)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise WeightsMismatchError(f"init_from={source.origin!r} is an original MosaicBERT checkpoint without "
                                   f"{missing[0]}{more}", missing, [], [])
    return convert_original_state_dict(source.state_dict, config)


_BERT_MLP = re.compile(r"\.(intermediate|output)\.dense\.weight$")


def _bert_weights(source: SourceWeights, config: PretrainedConfig) -> dict[str, torch.Tensor]:
    if config.ffn_type != "mlp" and any(_BERT_MLP.search(key) for key in source.state_dict):
        # the one layout difference an import cannot bridge: no part of an MLP is a GeGLU (README, "init_from")
        raise WeightsMismatchError(
            f"init_from={source.origin!r} is a BERT checkpoint with an MLP feed-forward, which does not load into "
            f"ffn_type={config.ffn_type!r} (MosaicBERT's GeGLU); set model.model_config.ffn_type=mlp to keep it "
            "(the network then runs BERT's GELU MLP in every layer instead of the GeGLU)", [], [], [])
    if config.position_embedding_type == "alibi" and any("position_embeddings" in k for k in source.state_dict):
        log.info("importing %s with ALiBi: its position embeddings are dropped", source.origin)
    try:
        return convert_bert_state_dict(source.state_dict, config)
    except ValueError as err:  # a layout the conversion cannot map (architecture/ raises plain ValueErrors)
        raise WeightsMismatchError(f"init_from={source.origin!r}: {err}", [], [], []) from None


@dataclass(frozen=True)
class SourceFormat:
    """A checkpoint layout MosaicBERT imports: how to recognise it, its config fields, its weights in our names."""

    name: str
    matches: Callable[[SourceWeights], bool]
    config_fields: Callable[[SourceWeights], dict]
    weights: Callable[[SourceWeights, PretrainedConfig], dict[str, torch.Tensor]]


SOURCE_FORMATS: dict[str, SourceFormat] = {fmt.name: fmt for fmt in (
    SourceFormat("mosaic_bert", lambda s: s.model_type == MosaicBertConfig.model_type, _own_config,
                 lambda s, config: s.state_dict),
    SourceFormat("original_mosaic_bert", lambda s: is_original_state_dict(s.state_dict),
                 lambda s: original_config_fields(s.config), _original_weights),
    SourceFormat("bert", lambda s: s.model_type == "bert", bert_shape_fields, _bert_weights),
)}


def source_format(source: SourceWeights) -> SourceFormat:
    """The first format of ``SOURCE_FORMATS`` that recognises ``source``; one-line error when none does."""
    for fmt in SOURCE_FORMATS.values():
        if fmt.matches(source):
            return fmt
    raise UnreadableWeightsError(f"init_from={source.origin!r} holds a {source.model_type!r} model; mosaic_bert "
                                 f"imports only {', '.join(SOURCE_FORMATS)} checkpoints")


def mosaic_config(source: SourceWeights) -> dict:
    """MosaicBertConfig fields from a source checkpoint of any supported format."""
    fmt = source_format(source)
    if fmt.name != "mosaic_bert":
        log.info("importing %s (checkpoint format %s)", source.origin, fmt.name)
    return fmt.config_fields(source)


def mosaic_weights(source: SourceWeights, config: PretrainedConfig) -> dict[str, torch.Tensor]:
    """Source weights in MosaicBERT's layout (names converted by the source's format)."""
    return source_format(source).weights(source, config)


# the formats MosaicBERT reads without conversion loss (plain BERT converts: hf_bert reads it natively)
NATIVE_FORMATS = tuple(CheckpointKind(fmt.name, fmt.matches)
                       for fmt in (SOURCE_FORMATS["mosaic_bert"], SOURCE_FORMATS["original_mosaic_bert"]))
