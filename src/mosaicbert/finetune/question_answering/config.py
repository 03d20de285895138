"""``question_answering.py``'s config (loaded by ``config.loading.load_config``): the shared fine-tuning settings
(``finetune.config.FinetuneConfig``), the data files and ``run_qa.py``'s hyperparameters beside the usual ones."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from omegaconf import MISSING

from mosaicbert.config.loading import ConfigError
from mosaicbert.finetune.config import FinetuneConfig, Hyperparameters

DEFAULT_MAX_SEQ_LEN = 384  # run_qa.py's


@dataclass
class QuestionAnsweringHyperparameters(Hyperparameters):
    """The usual hyperparameters and ``run_qa.py``'s. ``whole_context``: read each context in one window of the
    model's own length (its position table; no limit for ALiBi) instead of ``max_seq_len`` windows ``doc_stride``
    apart; a context longer than the model's length is still strided, at that length."""

    doc_stride: int = 128  # tokens shared by consecutive windows of a long context
    n_best_size: int = 20  # start and end candidates per window
    max_answer_length: int = 30  # in tokens
    null_score_diff_threshold: float = 0.0  # SQuAD v2.0: answer empty when null score - best span > this
    whole_context: bool = False

    def resolved(self, key: str, where: str = "") -> QuestionAnsweringHyperparameters:
        """Every field set; ``max_seq_len`` defaults to 384 (run_qa.py's)."""
        return dataclasses.replace(super().resolved(key, where), max_seq_len=self.max_seq_len or DEFAULT_MAX_SEQ_LEN)


@dataclass
class QuestionAnsweringData:
    """SQuAD JSON (``.json``: v1.1 or v2.0) or flat JSONL (``.jsonl``) files."""

    train_file: str = MISSING
    eval_file: str = MISSING


@dataclass
class QuestionAnsweringConfig(FinetuneConfig):
    """One extractive-QA fine-tuning run, then its metrics and an export to Hugging Face."""

    run_name: str = "question-answering"
    data: QuestionAnsweringData = field(default_factory=QuestionAnsweringData)
    seed: int = 17
    hyperparameters: QuestionAnsweringHyperparameters = field(default_factory=QuestionAnsweringHyperparameters)
    export_dir: Optional[str] = None  # Hugging Face directory of the fine-tuned model; None: no export
    autoresume: bool = True  # checkpoints in <output_dir>/checkpoints; a re-run resumes from the newest

    @property
    def checkpoint_dir(self) -> Path | None:
        return Path(self.output_dir) / "checkpoints" if self.autoresume else None

    def validate(self) -> None:
        super().validate()
        hp = self.hyperparameters.resolved("hyperparameters")
        self.model.check_length(hp.max_seq_len, "hyperparameters.max_seq_len")
        for key, value, low in (("doc_stride", hp.doc_stride, 0), ("n_best_size", hp.n_best_size, 1),
                                ("max_answer_length", hp.max_answer_length, 1)):
            if value < low:
                raise ConfigError(f"config key 'hyperparameters.{key}': must be at least {low}, got {value}")
        if hp.doc_stride >= hp.max_seq_len:
            raise ConfigError(f"config key 'hyperparameters.doc_stride': {hp.doc_stride} must be less than "
                              f"max_seq_len {hp.max_seq_len} (the tokens consecutive windows share)")
        from mosaicbert.finetune.question_answering.data import READERS

        for key in ("train_file", "eval_file"):  # a missing input location: exit 2 before anything is built
            path = Path(getattr(self.data, key)).expanduser()
            if not path.is_file():
                raise ConfigError(f"config key 'data.{key}': no such file {getattr(self.data, key)!r}")
            if path.suffix.lower() not in READERS:
                raise ConfigError(f"config key 'data.{key}': {path.name!r} is neither SQuAD JSON (.json) nor JSONL "
                                  "(.jsonl)")
        if self.hyperparameters.seeds is not None:
            raise ConfigError("config key 'hyperparameters.seeds': one run here; set the top-level 'seed' instead")
