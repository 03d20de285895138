"""``token_classification.py``'s config: the shared fine-tuning settings, the data files and their layout, the tag
set and its scoring, and the task's own hyperparameters (``label_all_tokens``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from omegaconf import MISSING

from mosaicbert.config.loading import ConfigError
from mosaicbert.finetune.config import FinetuneConfig, Hyperparameters

from .entity_metric import MODES
from .sentences import TAG_FIELDS
from .tag_schemes import SCHEMES

FORMATS = ("conll", "jsonl", "csv")


@dataclass
class TokenDataFiles:
    """Word-tagged sentences: CoNLL columns, or JSONL/CSV rows with a tokens list and a tags list."""

    train_file: str = MISSING
    eval_file: str = MISSING
    format: Optional[str] = None  # conll | jsonl | csv; None: from the suffix (.conll/.txt/.tsv: conll)
    tag_column: int = -1  # CoNLL: the column holding the tag (0-based; -1: the last)
    tokens_field: str = "tokens"  # JSONL/CSV
    tags_field: Optional[str] = None  # JSONL/CSV; None: the first of TAG_FIELDS a row has


@dataclass
class TokenHyperparameters(Hyperparameters):
    """The shared hyperparameters, and whether every sub-word of a word is trained on its label (else the first)."""

    label_all_tokens: bool = False


@dataclass
class TokenClassificationConfig(FinetuneConfig):
    run_name: str = "token-classification"
    data: TokenDataFiles = field(default_factory=TokenDataFiles)
    labels: Optional[List[str]] = None  # tag names in id order; None: the training file's tags, sorted ('O' first)
    tag_scheme: Optional[str] = None  # IOB1 | IOB2 | BIOES; None: read from the training tags
    metric_mode: str = "conlleval"  # conlleval (CoNLL's script, run_ner.py) | strict (seqeval, by tag_scheme)
    seed: int = 17
    hyperparameters: TokenHyperparameters = field(default_factory=TokenHyperparameters)
    export_dir: Optional[str] = None  # Hugging Face directory of the fine-tuned model; None: no export

    def validate(self) -> None:
        super().validate()
        if self.data.format is not None and self.data.format not in FORMATS:
            raise ConfigError(f"config key 'data.format': {self.data.format!r} is not one of: {', '.join(FORMATS)}")
        if self.tag_scheme is not None and self.tag_scheme not in SCHEMES:
            raise ConfigError(f"config key 'tag_scheme': {self.tag_scheme!r} is not one of: {', '.join(SCHEMES)}")
        if self.metric_mode not in MODES:
            raise ConfigError(f"config key 'metric_mode': {self.metric_mode!r} is not one of: {', '.join(MODES)}")
        if self.data.tags_field is not None and not self.data.tags_field:
            raise ConfigError(f"config key 'data.tags_field': give a field name or null ({' / '.join(TAG_FIELDS)})")
        self.model.check_length(self.hyperparameters.resolved("hyperparameters").max_seq_len,
                                "hyperparameters.max_seq_len")
        for key in ("train_file", "eval_file"):
            if not Path(getattr(self.data, key)).expanduser().is_file():
                raise ConfigError(f"config key 'data.{key}': no such file {getattr(self.data, key)!r}")
        if self.hyperparameters.seeds is not None:
            raise ConfigError("config key 'hyperparameters.seeds': one run here; set the top-level 'seed' instead")
