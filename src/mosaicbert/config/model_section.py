"""The ``model`` section every config shares (pretraining, fine-tuning, studies): which network, its tokenizer,
overrides of its config and where its first weights come from, checked against the model registry at load time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from mosaicbert.models.validation import ModelSectionError, check_model_section, check_sequence_length
from mosaicbert.models.weights import is_local_path

from .loading import ConfigError


@dataclass
class ModelSection:
    """Which network to train and where its initial weights come from."""

    name: str = "mosaic_bert"  # a family of the model registry: mosaic_bert | hf_bert | modernbert
    tokenizer_name: str = "bert-base-uncased"
    model_config: Dict[str, Any] = field(default_factory=dict)  # overrides of the network config
    # None: from scratch; an HF BERT/MosaicBERT directory or Hub name (continued pretraining), or a
    # Composer checkpoint of this recipe (weights only)
    init_from: Optional[str] = None
    # keep only the bottom N encoder layers of init_from (null: all): a shallower network that trains faster
    init_layers: Optional[int] = None
    # heads that start fresh because init_from has none, e.g. [mlm_head] for a plain BertModel or a
    # sentence-transformers checkpoint; initialised as the recipe's own (the MLM decoder tied to the word embeddings)
    expected_new_weights: List[str] = field(default_factory=list)
    # a new MLM head's decoder bias: zeros | unigram (the train_loader split's log word frequencies)
    mlm_bias_init: str = "zeros"

    def check(self) -> None:
        """The name and ``model_config`` keys against the model registry, and ``init_layers`` (shared with the
        fine-tuning configs)."""
        try:
            check_model_section(self.name, self.model_config)
        except ModelSectionError as err:
            raise ConfigError(str(err)) from None
        if self.init_from and is_local_path(self.init_from) and not os.path.exists(os.path.expanduser(self.init_from)):
            # before anything heavy, and once for a whole GLUE sweep rather than in every job
            raise ConfigError(f"config key 'model.init_from': no such file or directory {self.init_from!r}")
        if self.init_layers is not None:
            if not self.init_from:
                raise ConfigError("config key 'model.init_layers': applies only with 'model.init_from'")
            if self.init_layers < 1:
                raise ConfigError(f"config key 'model.init_layers': {self.init_layers} is not a layer count (>= 1)")

    def check_length(self, max_seq_len: int, key: str) -> None:
        """``max_seq_len`` (config key ``key``) within the network's positions (absolute ones end; ALiBi does not)."""
        try:
            check_sequence_length(self.name, self.model_config, max_seq_len, key)
        except ModelSectionError as err:
            raise ConfigError(str(err)) from None
