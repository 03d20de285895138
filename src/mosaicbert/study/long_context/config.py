"""The long-context study's config (``studies/long_context.py``): two phases, arms, budgets, evaluation.

Loaded by ``mosaicbert.training.load_config`` (YAML + ``key=value``; unknown keys and wrong types: exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from mosaicbert.config.loading import ConfigError

from ..claims import Claim, check_claims


@dataclass
class FirstPhaseArm:
    """A model trained from scratch at ``first_seq_len``: a recipe YAML and this arm's overrides."""

    recipe: str = MISSING
    overrides: Dict[str, Any] = field(default_factory=dict)


@dataclass
class SecondPhaseArm:
    """A phase started from a first-phase arm's checkpoint (Composer ``load_path``, ``reset_time``)."""

    start: str = MISSING  # the first-phase arm whose final checkpoint this phase loads
    recipe: str = MISSING
    seq_len: int = MISSING
    packing: str = "documents"  # "documents": rows of whole documents; "concat": rows of text joined by [SEP]
    overrides: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ContextEvaluation:
    """The same masked tokens of long held-out documents, scored in windows of each length."""

    lengths: List[int] = field(default_factory=lambda: [128, 512, 1024, 2048])
    documents: int = 96  # held-out documents (each at least max(lengths) - 2 tokens long)
    rate: float = 0.15
    batch_size: int = 8


@dataclass
class LongContextStudyConfig:
    """Phase 1 at a short length, phase 2 (context extension) for a fixed wall-clock, CE by evaluation length."""

    work_dir: str = "runs/long-context"
    out: str = "docs/benchmarks/long-context"  # writes OUT.md, OUT.json, OUT.png
    seeds: List[int] = field(default_factory=lambda: [17, 18])
    train_vocab_size: int = 8192  # a WordPiece vocabulary learnt from the training text (tokenization/training.py)
    train_documents: Optional[int] = None  # the first N of each training corpus (quick checks); None: all
    first_seq_len: int = 128
    first_budget_s: float = MISSING
    second_budget_s: float = MISSING
    tokens_per_batch: int = 2048  # every phase and arm: global batch = tokens_per_batch // seq_len
    calibration_rounds: int = 2
    calibration_steps: int = 20
    pretrain: Dict[str, Any] = field(default_factory=dict)  # overrides of every run (shape, lr, loader ...)
    second_pretrain: Dict[str, Any] = field(default_factory=dict)  # then of every phase-2 run (its lr, ...)
    first_phase: Dict[str, FirstPhaseArm] = field(default_factory=dict)
    second_phase: Dict[str, SecondPhaseArm] = field(default_factory=dict)
    evaluation: ContextEvaluation = field(default_factory=ContextEvaluation)
    # what the report concludes: an arm against its baseline (CE difference per length, seed by seed), or an arm
    # alone (no baseline: CE at each longer window minus the shortest); arms of either phase
    claims: List[Claim] = field(default_factory=list)
    plan_only: bool = False

    def validate(self) -> None:
        if not self.first_phase or not self.seeds:
            raise ConfigError("config keys 'first_phase' and 'seeds': give at least one arm and one seed")
        for name, arm in self.second_phase.items():
            if arm.start not in self.first_phase:
                raise ConfigError(f"config key 'second_phase.{name}.start': unknown first-phase arm {arm.start!r}; "
                                  f"choose from: {', '.join(self.first_phase)}")
            if arm.packing not in ("documents", "concat"):
                raise ConfigError(f"config key 'second_phase.{name}.packing': 'documents' or 'concat', "
                                  f"got {arm.packing!r}")
        lengths = [self.first_seq_len, *(arm.seq_len for arm in self.second_phase.values())]
        if any(n < 8 or self.tokens_per_batch % n for n in lengths):
            raise ConfigError(f"config key 'tokens_per_batch': {self.tokens_per_batch} must be a multiple of every "
                              f"training length ({sorted(set(lengths))})")
        check_claims(self.claims, [*self.first_phase, *self.second_phase], need_baseline=False)
        if self.first_budget_s <= 0 or self.second_budget_s <= 0:
            raise ConfigError("config keys 'first_budget_s' / 'second_budget_s': budgets must be positive")
        if not 0.0 < self.evaluation.rate < 1.0:
            raise ConfigError(f"config key 'evaluation.rate': must be between 0 and 1, got {self.evaluation.rate}")
