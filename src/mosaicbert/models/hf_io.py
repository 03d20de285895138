"""Hugging Face in and out: BERT weights into MosaicBERT, and export to a self-contained HF directory.

Import: any transformers BERT checkpoint (``BertModel``, ``BertForMaskedLM``, ``BertForPreTraining``,
``BertForSequenceClassification``; local directory or Hub name, see ``weights.read_weights``) is converted
with ``architecture.convert_bert_state_dict``. With ``position_embedding_type="absolute"`` and
``ffn_type="mlp"`` the MosaicBERT computes exactly what the source computes; with ALiBi the position
embeddings are dropped.

Export: ``export_to_hf`` writes config, safetensors weights, tokenizer files and, for MosaicBERT, the
``architecture`` source files registered in the config's ``auto_map``, so
``AutoModelForMaskedLM.from_pretrained(dir, trust_remote_code=True)`` and ``pipeline("fill-mask", ...)``
work without this package installed.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch
from composer.models import HuggingFaceModel
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from mosaicbert.architecture import (
    MosaicBertConfig,
    MosaicBertForMaskedLM,
    MosaicBertForSequenceClassification,
    MosaicBertModel,
    convert_bert_state_dict,
)

from .weights import SourceWeights

log = logging.getLogger(__name__)

# transformers auto class under which each exported network loads.
AUTO_CLASSES = {
    MosaicBertForMaskedLM: "AutoModelForMaskedLM",
    MosaicBertForSequenceClassification: "AutoModelForSequenceClassification",
    MosaicBertModel: "AutoModel",
}


def mosaic_weights(source: SourceWeights, config: PretrainedConfig) -> dict[str, torch.Tensor]:
    """Source weights in MosaicBERT's layout: converted from BERT, or as they are from MosaicBERT."""
    if source.model_type == MosaicBertConfig.model_type:
        return source.state_dict
    if source.model_type != "bert":
        raise ValueError(f"init_from={source.origin!r} holds a {source.model_type!r} model; "
                         "mosaic_bert imports only BERT ('bert') or MosaicBERT ('mosaic_bert') weights")
    if config.position_embedding_type == "alibi" and any("position_embeddings" in k for k in source.state_dict):
        log.info("importing %s with ALiBi: its position embeddings are dropped", source.origin)
    return convert_bert_state_dict(source.state_dict, config)


def export_to_hf(model: HuggingFaceModel | PreTrainedModel, out_dir: str | Path,
                 tokenizer: PreTrainedTokenizerBase | None = None) -> Path:
    """Write the network (the wrapped one of a ``HuggingFaceModel``) and its tokenizer as a Hugging Face directory;
    replaces ``out_dir`` atomically. Under FSDP pass ``sharding.full_network(...)``: it holds the gathered weights.

    MosaicBERT networks carry their code (``auto_map``: load with ``trust_remote_code=True``); transformers'
    BERT loads with the plain auto classes.
    """
    network = model.model if isinstance(model, HuggingFaceModel) else model
    if tokenizer is None and isinstance(model, HuggingFaceModel):
        tokenizer = model.tokenizer
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    auto_class = AUTO_CLASSES.get(type(network))
    if auto_class is not None:
        type(network.config).register_for_auto_class("AutoConfig")
        type(network).register_for_auto_class(auto_class)
        if auto_class != "AutoModel":
            network.config.auto_map = {**(getattr(network.config, "auto_map", None) or {}),
                                       "AutoModel": f"{MosaicBertModel.__module__.rsplit('.', 1)[-1]}.MosaicBertModel"}
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        staging = Path(tmp) / "export"
        network.save_pretrained(staging, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(staging)
        if out_dir.exists():
            out_dir.rename(Path(tmp) / "previous")
        staging.rename(out_dir)
    log.info("exported %s to %s", type(network).__name__, out_dir)
    return out_dir
