"""``sentence_embeddings.py``'s config (loaded by ``config.loading.load_config``): the fine-tuning keys of
``sequence_classification.py`` (model section, optimizer, schedule, precision, hyperparameters, seed,
``export_dir``: here the sentence-transformers folder), plus the loss, pooling, normalisation and the Composer
checkpoints of autoresume."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from omegaconf import MISSING

from mosaicbert.config.loading import ConfigError
from mosaicbert.did_you_mean import did_you_mean
from mosaicbert.finetune.config import FinetuneConfig, Hyperparameters

from .losses import LOSSES
from .pooling import POOLING_MODES


@dataclass
class EmbeddingData:
    """Training rows (anchor, positive[, negative] or sentence1, sentence2, score) and scored pairs to evaluate."""

    train_file: str = MISSING
    eval_file: Optional[str] = None  # scored pairs: STS Spearman after training (None: no evaluation)


@dataclass
class LossSection:
    """A loss of ``losses.LOSSES`` and its arguments (sentence-transformers' defaults)."""

    name: str = "multiple_negatives_ranking"
    scale: float = 20.0
    symmetric: bool = False  # in-batch negatives both ways (anchor -> positive and positive -> anchor)
    mini_batch_size: int = 32  # cached_multiple_negatives_ranking: rows embedded with gradients at a time
    gather_across_ranks: bool = True  # in-batch negatives of every rank (no effect on one)


@dataclass
class SentenceEmbeddingsConfig(FinetuneConfig):
    """One contrastive fine-tuning run, then the sentence-transformers export and its STS score."""

    run_name: str = "sentence-embeddings"
    data: EmbeddingData = field(default_factory=EmbeddingData)
    loss: LossSection = field(default_factory=LossSection)
    pooling: str = "mean"  # mean | cls
    normalize: bool = True  # unit-length embeddings (a Normalize module in the export)
    seed: int = 17
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    export_dir: Optional[str] = None  # sentence-transformers folder of the trained model; None: no export
    save_folder: Optional[str] = None  # Composer checkpoints (None: none, no autoresume)
    save_interval: str = "1ep"
    autoresume: bool = False  # resume from save_folder's latest checkpoint of run_name

    def validate(self) -> None:
        super().validate()
        if self.loss.name not in LOSSES:
            raise ConfigError(f"config key 'loss.name': unknown loss {self.loss.name!r}"
                              f"{did_you_mean(self.loss.name, LOSSES)}; choose from: {', '.join(LOSSES)}")
        if self.pooling not in POOLING_MODES:
            raise ConfigError(f"config key 'pooling': unknown pooling {self.pooling!r}"
                              f"{did_you_mean(self.pooling, POOLING_MODES)}; choose from: {', '.join(POOLING_MODES)}")
        if self.loss.scale <= 0 or self.loss.mini_batch_size < 1:
            raise ConfigError("config key 'loss': scale must be > 0 and mini_batch_size >= 1")
        hparams = self.hyperparameters.resolved("hyperparameters")
        self.model.check_length(hparams.max_seq_len, "hyperparameters.max_seq_len")
        if self.hyperparameters.seeds is not None:
            raise ConfigError("config key 'hyperparameters.seeds': one run here; set the top-level 'seed' instead")
        if self.autoresume and not self.save_folder:
            raise ConfigError("config key 'autoresume': needs a 'save_folder' to resume from")
        for key in ("train_file", "eval_file"):  # a missing input location: exit 2 before anything is built
            value = getattr(self.data, key)
            if value is not None and not Path(value).expanduser().is_file():
                raise ConfigError(f"config key 'data.{key}': no such file {value!r}")
