"""``build_composer_model(name, task, ...)`` -> ``ComposerModel``: a family of ``MODEL_REGISTRY`` built for a task
(``TASK_WRAPPERS``), optionally from a checkpoint; ``build_network`` -> the bare network (and its tokenizer), e.g. the
``encoder`` for sentence embeddings, which has no Composer wrapper of its own here."""

from __future__ import annotations

from typing import Iterable

import torch
from composer.models import ComposerModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mosaicbert.tokenizer import load_tokenizer

from .autocast import resolve_autocast_dtype
from .network import NetworkFamily
from .registry import MODEL_REGISTRY, key_layout_of
from .tasks import (
    MaskedLMComposerModel,
    QuestionAnsweringComposerModel,
    SequenceClassificationComposerModel,
    TokenClassificationComposerModel,
)
from .validation import check_model_section
from .weights import read_weights

TASK_WRAPPERS = {"mlm": MaskedLMComposerModel, "classification": SequenceClassificationComposerModel,
                 "token_classification": TokenClassificationComposerModel,
                 "question_answering": QuestionAnsweringComposerModel}
# tasks whose head has one output per label (the others fix theirs: QA's start and end)
LABELLED_TASKS = ("classification", "token_classification")


def wrap_network(family: NetworkFamily, task: str, network: PreTrainedModel,
                 tokenizer: PreTrainedTokenizerBase | None, autocast_dtype=None, **task_arguments) -> ComposerModel:
    """``network`` (of ``family``) in its ``task``'s Composer wrapper, told what the family says of packed rows;
    ``task_arguments`` go to the wrapper (``eval_metrics`` of token classification and QA)."""
    return TASK_WRAPPERS[task](network, tokenizer=tokenizer, autocast_dtype=autocast_dtype,
                               block_mask=family.block_mask, family_name=family.name, **task_arguments)


def build_network(name: str, task: str, *, tokenizer_name: str = "bert-base-uncased",
                  model_config: dict | None = None, init_from: str | None = None, init_layers: int | None = None,
                  num_labels: int | None = None,
                  expected_new_weights: Iterable[str] = ()) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The ``task`` network of family ``name`` (``NetworkFamily.task_classes``, incl. ``encoder``: the base model)
    and its tokenizer; arguments as ``build_composer_model``'s."""
    check_model_section(name, model_config or {})
    family = MODEL_REGISTRY[name]
    if task not in family.task_classes:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(family.task_classes)}")
    if num_labels is not None and task not in LABELLED_TASKS:
        raise ValueError(f"num_labels={num_labels} applies only to tasks {' and '.join(LABELLED_TASKS)}, "
                         f"not {task!r}")
    tokenizer = load_tokenizer(tokenizer_name)
    source = read_weights(init_from, key_layout_of) if init_from else None
    if source is not None and init_layers is not None:
        source = source.first_layers(init_layers, key_layout_of(source.model_type))
    network = family.build(task, model_config, source, num_labels, expected_new_weights, tokenizer)
    return network, tokenizer


def build_composer_model(name: str, task: str, *, tokenizer_name: str = "bert-base-uncased",
                         model_config: dict | None = None, init_from: str | None = None,
                         init_layers: int | None = None, num_labels: int | None = None,
                         expected_new_weights: Iterable[str] = (),
                         autocast_dtype: str | torch.dtype | None = None, **task_arguments) -> ComposerModel:
    """Build model ``name`` for ``task``.

    ``model_config`` overrides the config (bert-base defaults, or the config of ``init_from``).
    ``init_from``: HF BERT/MosaicBERT directory or Hub name, or a Composer checkpoint of this recipe;
    ``init_layers``: keep only its bottom N encoder layers.
    ``num_labels``: classes of a classifier (1 = regression). ``expected_new_weights``: prefixes of
    parameters that may be missing from ``init_from`` (new heads, e.g. ``("classifier", "bert.pooler")``).
    ``autocast_dtype`` (e.g. ``"bf16"``): run forward and loss under ``torch.autocast``. ``task_arguments``: the
    task wrapper's own (``eval_metrics`` of ``token_classification`` and ``question_answering``).
    """
    if task not in TASK_WRAPPERS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASK_WRAPPERS)}")
    autocast_dtype = resolve_autocast_dtype(autocast_dtype)
    network, tokenizer = build_network(name, task, tokenizer_name=tokenizer_name, model_config=model_config,
                                       init_from=init_from, init_layers=init_layers, num_labels=num_labels,
                                       expected_new_weights=expected_new_weights)
    return wrap_network(MODEL_REGISTRY[name], task, network, tokenizer, autocast_dtype, **task_arguments)
