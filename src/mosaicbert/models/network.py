"""Building the network of one family (each registered in ``registry.py``) for a task, optionally from source
weights; a family also declares what the rest of the recipe asks of it (the checkpoints it reads, key layout, FLOPs,
pretraining dropouts, export classes, heads, length), so no code outside the family's own file decides by its name.

The config is the family's defaults (its base shape), then what the tokenizer fixes (``tokenizer_config``: e.g.
ModernBERT's special-token ids), then the source checkpoint's config (all of it
when the source is of the same family, only the tensor shapes otherwise, or what the family's
``source_config`` reads from it), then the family's fixed fields for the task (e.g. no attention dropout when
fine-tuning MosaicBERT, as in the original), then the caller's overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from .flops import FlopShape, bert_flop_shape
from .sharding import shard_per_layer
from .weights import BERT_KEYS, KeyLayout, SourceWeights, load_weights

# Config fields that fix the shapes of BERT's tensors (taken from a source of another family).
BERT_SHAPE_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                   "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "pad_token_id")
LABEL_KEYS = ("num_labels", "id2label", "label2id", "problem_type")
# MosaicBERT's pretraining dropout, in BERT's config keys (the recipe's for both BERT families)
BERT_PRETRAINING_DROPOUTS = {"attention_probs_dropout_prob": 0.0, "hidden_dropout_prob": 0.1}
# the task whose network is the bare encoder (its base model: hidden states out, no head), e.g. for embeddings
ENCODER = "encoder"
# per task, the parameters of a BERT network a pretrained checkpoint may lack (they start fresh); the encoder's keys
# have no base-model prefix (NetworkFamily.build strips it from the source)
BERT_NEW_HEADS = {"classification": ("classifier", "bert.pooler"), "token_classification": ("classifier",),
                  "question_answering": ("qa_outputs",), ENCODER: ("pooler",)}


@dataclass(frozen=True)
class CheckpointKind:
    """A kind of checkpoint a family reads natively (no conversion loss): its name in messages and how to recognise
    it."""

    name: str
    matches: Callable[[SourceWeights], bool]


def model_type_kind(model_type: str) -> CheckpointKind:
    """Checkpoints whose config has ``model_type``."""
    return CheckpointKind(model_type, lambda source: source.model_type == model_type)


def position_table_length(config: PretrainedConfig) -> int | None:
    """The longest sequence a config's learned absolute positions cover (None: relative positions, no limit)."""
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return None
    return config.max_position_embeddings


def bert_tokenizer_config(tokenizer: PreTrainedTokenizerBase) -> dict:
    """A BERT config's vocabulary size and padding id from the tokenizer (a vocabulary of your own may be larger or
    smaller than bert-base-uncased's 30,522; MosaicBERT pads the embedding to a multiple of 64 itself)."""
    fields = {"vocab_size": len(tokenizer)}
    if tokenizer.pad_token_id is not None:
        fields["pad_token_id"] = tokenizer.pad_token_id
    return fields


def bert_shape_fields(source: SourceWeights) -> dict:
    """The fields of ``source``'s config that fix BERT's tensor shapes."""
    return {k: v for k, v in source.config.items() if k in BERT_SHAPE_KEYS}


@dataclass(frozen=True)
class NetworkFamily:
    """A config class, one network class per task, how to bring source weights into the family's layout, and
    the encoder layer class (one FSDP unit and activation-checkpoint region each, ``sharding.py``), plus the
    facts other parts ask the family for instead of its name: the checkpoints it reads natively (``registry.py``:
    which family scores a checkpoint), the state-dict layout of its checkpoints (``weights.py``), its FLOP shape
    (``flops.py``), its pretraining dropouts, its export classes (``hf_io.py``), the heads a fine-tuning run starts
    fresh, its maximum length."""

    name: str
    config_class: type[PretrainedConfig]
    task_classes: dict[str, type[PreTrainedModel]]
    adapt_weights: Callable[[SourceWeights, PretrainedConfig], dict[str, torch.Tensor]]
    layer_class: type[nn.Module]
    # the checkpoints the family reads without conversion loss; the first family of the registry that reads a
    # checkpoint is the one that scores it (evaluate_mlm.py)
    reads: tuple[CheckpointKind, ...]
    # the config keys of its dropouts, as the recipe pretrains it (the benchmarks and the GPU check set them)
    pretraining_dropouts: dict[str, float]
    # config fields read from a source checkpoint; None: all of a same-family config, else BERT_SHAPE_KEYS
    source_config: Callable[[SourceWeights], dict] | None = None
    # fields per task that override the source's config (the caller's model_config still wins)
    task_config: dict[str, dict] = field(default_factory=dict)
    # why torch.compile cannot trace the network as one graph (compile_config.fullgraph is refused); None: no known reason
    graph_breaks: str | None = None
    # config fields the tokenizer fixes (special-token ids, vocabulary size); None: the defaults fit bert-base-uncased
    tokenizer_config: Callable[[PreTrainedTokenizerBase], dict] | None = None
    key_layout: KeyLayout = BERT_KEYS
    flop_shape: Callable[[PretrainedConfig], FlopShape] = bert_flop_shape
    # per task, the parameters a fine-tuning run may find missing in a pretrained checkpoint (they start fresh)
    new_heads: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(BERT_NEW_HEADS))
    # a 3-D (batch, query, key) attention_mask keeps the documents of packed rows apart (transformers' BERT); False:
    # the network takes only 2-D masks, so its packed documents cross-attend (document_ids are dropped, with a warning)
    block_mask: bool = True
    # the longest input a config of the family takes (None: no limit of its own, e.g. ALiBi)
    max_length: Callable[[PretrainedConfig], int | None] = position_table_length
    # exported as remote code: network class -> the transformers auto class it loads under (the config's auto_map;
    # the class under "AutoModel" is the base model). Empty: the network is (or extends) a transformers class and
    # exports natively, under that class's name
    export_auto_classes: dict[type[PreTrainedModel], str] = field(default_factory=dict)
    # named model_config variants measured side by side (benchmarks/model_throughput.py); None: the family as it is
    variants: dict[str, dict] | None = None
    # the inputs its networks take, written into an export's tokenizer (model_input_names) so that pipelines pass
    # only these (ModernBERT has no token types); None: the tokenizer's own
    input_names: tuple[str, ...] | None = None

    def reads_natively(self, source: SourceWeights) -> bool:
        """``source`` is a checkpoint of a kind in ``reads``."""
        return any(kind.matches(source) for kind in self.reads)

    def measured_variants(self) -> dict[str, dict]:
        """Variant name -> model_config overrides (``variants``, or the family under its own name)."""
        return dict(self.variants) if self.variants is not None else {self.name: {}}

    def build(self, task: str, model_config: dict | None = None, source: SourceWeights | None = None,
              num_labels: int | None = None, expected_new_weights: Iterable[str] = (),
              tokenizer: PreTrainedTokenizerBase | None = None) -> PreTrainedModel:
        """The ``task`` network with a config from defaults < ``tokenizer`` < ``source`` < ``model_config``, weights
        from ``source``.

        ``model_config``'s keys are checked by the caller (``validation.check_model_section``)."""
        config = self.config(task, model_config or {}, source, num_labels, tokenizer)
        model = self.task_classes[task](config)
        if source is not None:
            weights = self.adapt_weights(source, config)
            if task == ENCODER:  # the base model's own keys: without its prefix, and none of a head's
                prefix = self.key_layout.prefix
                weights = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
            load_weights(model, weights, expected_new_weights, source.origin)
        shard_per_layer(model, (self.layer_class,))
        return model

    def config(self, task: str, overrides: dict, source: SourceWeights | None, num_labels: int | None,
               tokenizer: PreTrainedTokenizerBase | None = None) -> PretrainedConfig:
        """The config: family defaults < ``tokenizer_config`` < ``source`` config < ``task_config`` < ``overrides``
        < ``num_labels``."""
        fields: dict = {}
        if tokenizer is not None and self.tokenizer_config is not None:
            fields = self.tokenizer_config(tokenizer)
        if source is not None:
            if self.source_config is not None:
                fields.update(self.source_config(source))
            elif source.model_type == self.config_class.model_type:
                fields.update(source.network_config())
            else:
                fields.update(bert_shape_fields(source))
        fields.update(self.task_config.get(task, {}))
        fields.update(overrides)
        if num_labels is not None:
            fields = {k: v for k, v in fields.items() if k not in LABEL_KEYS}
            fields["num_labels"] = num_labels
        config = self.config_class(**fields)
        if task == "question_answering":
            config.num_labels = 2  # a start and an end logit per token
        if task == "classification":
            config.problem_type = "regression" if config.num_labels == 1 else "single_label_classification"
        return config

