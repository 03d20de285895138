"""``build_composer_model(name, task, ...)`` -> ``ComposerModel``: a family of ``MODEL_REGISTRY`` built for a task
(``TASK_WRAPPERS``: ``mlm`` and ``classification``), optionally from a checkpoint."""

from __future__ import annotations

from typing import Iterable

import torch
from composer.models import ComposerModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mosaicbert.tokenizer import load_tokenizer

from .autocast import resolve_autocast_dtype
from .network import NetworkFamily
from .registry import MODEL_REGISTRY, key_layout_of
from .tasks import MaskedLMComposerModel, SequenceClassificationComposerModel
from .validation import check_model_section
from .weights import read_weights

TASK_WRAPPERS = {"mlm": MaskedLMComposerModel, "classification": SequenceClassificationComposerModel}


def wrap_network(family: NetworkFamily, task: str, network: PreTrainedModel,
                 tokenizer: PreTrainedTokenizerBase | None, autocast_dtype=None) -> ComposerModel:
    """``network`` (of ``family``) in its ``task``'s Composer wrapper, told what the family says of packed rows."""
    return TASK_WRAPPERS[task](network, tokenizer=tokenizer, autocast_dtype=autocast_dtype,
                               block_mask=family.block_mask, family_name=family.name)


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
    source = read_weights(init_from, key_layout_of) if init_from else None
    if source is not None and init_layers is not None:
        source = source.first_layers(init_layers, key_layout_of(source.model_type))
    network = family.build(task, model_config, source, num_labels, expected_new_weights, tokenizer)
    return wrap_network(family, task, network, tokenizer, autocast_dtype)
