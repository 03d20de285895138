"""A trained sentence pipeline -> a sentence-transformers model folder: the encoder and its tokenizer at the root
(``models.hf_io.export_to_hf``: MosaicBERT as remote code, load with ``trust_remote_code=True``), the pooling as
trained (``1_Pooling``, saved by sentence-transformers' own module), ``2_Normalize`` when normalised, and the
``modules.json`` / ``sentence_bert_config.json`` / ``config_sentence_transformers.json`` that
``SentenceTransformer(path)`` reads (legacy class paths: both sentence-transformers 5.x and 6.x read them).
The folder is replaced atomically."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import sentence_transformers
import torch
import transformers
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
from torch import nn
from transformers import PreTrainedTokenizerBase

from mosaicbert.models.hf_io import export_to_hf

from .encoder_module import EncoderModule

MODULE_TYPES = {EncoderModule: "sentence_transformers.models.Transformer",
                Pooling: "sentence_transformers.models.Pooling",
                Normalize: "sentence_transformers.models.Normalize"}
MODULE_PATHS = {EncoderModule: "", Pooling: "1_Pooling", Normalize: "2_Normalize"}


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def export_sentence_transformer(pipeline: nn.Sequential, tokenizer: PreTrainedTokenizerBase, out_dir: str | Path, *,
                                max_seq_length: int) -> Path:
    """Write ``pipeline`` (``encoder_module.sentence_pipeline``) as a sentence-transformers folder at ``out_dir``."""
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    encoder = pipeline[0]
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        staging = export_to_hf(encoder.network, Path(tmp) / "export", tokenizer)
        modules = []
        for idx, module in enumerate(pipeline):
            path = MODULE_PATHS[type(module)]
            modules.append({"idx": idx, "name": str(idx), "path": path, "type": MODULE_TYPES[type(module)]})
            if path:
                (staging / path).mkdir(parents=True, exist_ok=True)
                module.save(str(staging / path))
        _write_json(staging / "modules.json", modules)
        _write_json(staging / "sentence_bert_config.json", {"max_seq_length": max_seq_length, "do_lower_case": False})
        _write_json(staging / "config_sentence_transformers.json", {
            "__version__": {"sentence_transformers": sentence_transformers.__version__,
                            "transformers": transformers.__version__, "pytorch": torch.__version__},
            "model_type": "SentenceTransformer", "prompts": {}, "default_prompt_name": None,
            "similarity_fn_name": "cosine"})
        if out_dir.exists():
            out_dir.rename(Path(tmp) / "previous")
        staging.rename(out_dir)
    return out_dir
