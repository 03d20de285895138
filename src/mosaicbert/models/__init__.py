"""Composer side of the model: ``build_composer_model(name, task, ...)`` -> ``ComposerModel``.

Names (``MODEL_REGISTRY``): ``mosaic_bert`` (MosaicBERT from ``architecture/``), ``hf_bert``
(transformers' BERT, the baseline) and ``modernbert`` (transformers' ModernBERT).
Tasks (``TASK_WRAPPERS``): ``mlm`` and ``classification``.
"""

from __future__ import annotations

from typing import Iterable

import torch
from composer.models import ComposerModel

from mosaicbert.tokenizer import load_tokenizer

from .autocast import resolve_autocast_dtype
from .hf_bert import HF_BERT
from .hf_io import export_to_hf
from .modernbert import MODERNBERT
from .mosaic_bert import MOSAIC_BERT
from .network import NetworkFamily
from .sharding import full_network
from .tasks import MaskedLMComposerModel, SequenceClassificationComposerModel
from .validation import check_model_section
from .weights import SourceWeights, WeightsMismatchError, load_weights, read_weights

MODEL_REGISTRY: dict[str, NetworkFamily] = {family.name: family for family in (MOSAIC_BERT, HF_BERT, MODERNBERT)}
TASK_WRAPPERS = {"mlm": MaskedLMComposerModel, "classification": SequenceClassificationComposerModel}


def build_composer_model(name: str, task: str, *, tokenizer_name: str = "bert-base-uncased",
                         model_config: dict | None = None, init_from: str | None = None,
                         init_layers: int | None = None, num_labels: int | None = None,
                         expected_new_weights: Iterable[str] = (),
                         autocast_dtype: str | torch.dtype | None = None) -> ComposerModel:
    """Build model ``name`` for ``task``.

    ``model_config`` overrides the config (bert-base defaults, or the config of ``init_from``).
    ``init_from``: HF BERT/MosaicBERT directory or Hub name, or a Composer checkpoint of this recipe;
    ``init_layers``: keep only its bottom N encoder layers.
    ``num_labels``: classes of a classifier (1 = regression). ``expected_new_weights``: prefixes of
    parameters that may be missing from ``init_from`` (new heads, e.g. ``("classifier", "bert.pooler")``).
    ``autocast_dtype`` (e.g. ``"bf16"``): run forward and loss under ``torch.autocast``.
    """
    check_model_section(name, model_config or {})
    if task not in TASK_WRAPPERS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASK_WRAPPERS)}")
    if num_labels is not None and task != "classification":
        raise ValueError(f"num_labels={num_labels} applies only to task 'classification', not {task!r}")
    family = MODEL_REGISTRY[name]
    autocast_dtype = resolve_autocast_dtype(autocast_dtype)
    tokenizer = load_tokenizer(tokenizer_name)
    source = read_weights(init_from) if init_from else None
    if source is not None and init_layers is not None:
        source = source.first_layers(init_layers)
    network = family.build(task, model_config, source, num_labels, expected_new_weights, tokenizer)
    return TASK_WRAPPERS[task](network, tokenizer=tokenizer, autocast_dtype=autocast_dtype)


__all__ = [
    "MODEL_REGISTRY",
    "TASK_WRAPPERS",
    "MaskedLMComposerModel",
    "NetworkFamily",
    "SequenceClassificationComposerModel",
    "SourceWeights",
    "WeightsMismatchError",
    "build_composer_model",
    "export_to_hf",
    "full_network",
    "load_weights",
    "read_weights",
]
