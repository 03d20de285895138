"""The domain study's config (``studies/domain.py``): a domain corpus mixed with general text, arms that differ in
vocabulary, masking and upsampling, equal wall-clock budgets, seeds, held-out words, the downstream task.

Loaded by ``config.loading.load_config`` (YAML + ``key=value``; unknown keys and wrong types: one line, exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from mosaicbert.config.loading import ConfigError

from ..claims import Claim, check_claims, check_run_arms
from ..downstream import DownstreamSection

VOCABULARIES = ("general", "domain")


@dataclass
class DomainArm:
    """One arm: which vocabulary it reads (the general tokenizer or the one learnt from the domain) and the
    overrides of the recipe that make it what it is (masking, upsampling)."""

    vocabulary: str = "domain"
    overrides: Dict[str, Any] = field(default_factory=dict)  # dotted keys of PretrainConfig -> value
    # an arm whose steps cost what another arm's cost (the same network, masking and mixture until a switch) trains
    # that arm's calibrated steps: the two then compare at equal steps and equal time, without calibration noise
    calibrate_as: Optional[str] = None


@dataclass
class CorpusSection:
    """The domain text (health-news tweets, less the downstream task's) and the general text (news articles)."""

    domain_heldout_texts: int = 1000  # domain texts kept out of training (seeded), the held-out domain text
    domain_vocab_size: int = 30522  # learnt from the domain's training text (PubMedBERT: BERT's size)
    general_tokenizer: str = "bert-base-uncased"
    max_train_texts: Optional[int] = None  # a quick trial: the first N training texts of each corpus (None: all)


@dataclass
class WordsSection:
    """Held-out scoring: the same masked whole words in every arm (``evaluation/masked_words.py``)."""

    rate: float = 0.15  # of the words of each passage
    words: int = 20000  # words of held-out text scored per corpus (the first passages that fit every vocabulary)
    words_per_passage: int = 60  # long texts (the news) are cut into passages of at most this many words
    batch_size: int = 64


@dataclass
class DomainStudyConfig:
    """Arms x pretraining seeds at one wall-clock budget: pretrain, nats per masked word on held-out domain and
    general text, fine-tune on the domain task."""

    work_dir: str = "runs/domain-study"  # data, vocabularies, checkpoints, per-run results (resumable)
    out: str = "docs/benchmarks/domain"  # writes OUT.md, OUT.json, OUT.png
    recipe: str = "yamls/mosaic-bert-domain.yaml"  # every arm's recipe, before the study's and the arm's overrides
    arms: Dict[str, DomainArm] = field(default_factory=dict)
    run_arms: Optional[List[str]] = None  # None: every arm
    claims: List[Claim] = field(default_factory=list)
    pretrain: Dict[str, Any] = field(default_factory=dict)  # overrides applied to every arm (shape, batch, lr...)
    seq_len: int = 128
    budget_s: float = MISSING  # wall-clock seconds of every run on the calibrated machine
    seeds: List[int] = field(default_factory=lambda: [17, 18])  # pretraining seeds (data order, initialisation)
    calibration_rounds: int = 3
    calibration_steps: int = 20
    run_overhead_s: float = 10.0  # per-run fixed cost in the printed estimate
    seed: int = 17  # data splits, vocabulary, held-out masks, the task's split
    plan_only: bool = False
    corpus: CorpusSection = field(default_factory=CorpusSection)
    held_out: WordsSection = field(default_factory=WordsSection)
    downstream: DownstreamSection = field(default_factory=DownstreamSection)

    @property
    def selected_arms(self) -> list[str]:
        return list(self.run_arms) if self.run_arms is not None else list(self.arms)

    def calibrated_as(self, arm: str) -> str:
        """The arm whose calibration gives ``arm``'s steps (itself unless ``calibrate_as``)."""
        return self.arms[arm].calibrate_as or arm

    def validate(self) -> None:
        check_run_arms(self.arms, self.run_arms)
        for name, arm in self.arms.items():
            if arm.vocabulary not in VOCABULARIES:
                raise ConfigError(f"config key 'arms.{name}.vocabulary': {arm.vocabulary!r} is not one of "
                                  f"{', '.join(VOCABULARIES)}")
            if arm.calibrate_as is not None and (arm.calibrate_as not in self.arms
                                                 or self.arms[arm.calibrate_as].calibrate_as is not None):
                raise ConfigError(f"config key 'arms.{name}.calibrate_as': {arm.calibrate_as!r} is not an arm "
                                  "calibrated on its own; choose from: "
                                  + ", ".join(a for a, spec in self.arms.items() if spec.calibrate_as is None))
        check_claims(self.claims, self.arms, need_baseline=True)
        if self.budget_s <= 0:
            raise ConfigError(f"config key 'budget_s': must be positive, got {self.budget_s}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"config key 'seeds': give distinct pretraining seeds, got {list(self.seeds)}")
        if self.calibration_rounds < 1 or self.calibration_steps < 2:
            raise ConfigError("config keys 'calibration_rounds' >= 1 and 'calibration_steps' >= 2 are required")
        if not 0.0 < self.held_out.rate < 1.0:
            raise ConfigError(f"config key 'held_out.rate': must be between 0 and 1, got {self.held_out.rate}")
        if self.held_out.words < 1 or self.held_out.words_per_passage < 1:
            raise ConfigError("config keys 'held_out.words' and 'held_out.words_per_passage' must be positive")
        if self.corpus.max_train_texts is not None and self.corpus.max_train_texts < 1:
            raise ConfigError("config key 'corpus.max_train_texts': give a positive number or null (every text)")
        if self.corpus.domain_heldout_texts < 1:
            raise ConfigError("config key 'corpus.domain_heldout_texts': keep at least one domain text out")
        if not self.downstream.seeds:
            raise ConfigError("config key 'downstream.seeds': give at least one seed")
