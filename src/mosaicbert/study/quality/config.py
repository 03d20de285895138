"""The quality study's config (``studies/quality.py``): arms and the claims that compare them, shape, budgets,
evaluation, downstream task.

Loaded by ``config.loading.load_config`` like every other config here: YAML + ``key=value`` overrides,
unknown keys and wrong types are one-line errors (exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from mosaicbert.config.loading import ConfigError

from ..claims import Claim, check_claims, check_run_arms
from ..downstream import DownstreamSection


@dataclass
class ArmSpec:
    """One arm: a recipe YAML of this repository and the overrides that make this arm what it is."""

    recipe: str = MISSING
    overrides: Dict[str, Any] = field(default_factory=dict)  # dotted keys of PretrainConfig -> value


@dataclass
class HeldOutSection:
    """Held-out MLM evaluation: real text of another domain, packed at each length, masked at ``rate``."""

    seq_lens: List[int] = field(default_factory=lambda: [128, 512])
    tokens: int = 32768  # tokens evaluated per length (samples = tokens // seq_len), the same for every arm
    rate: float = 0.15
    batch_size: int = 32


@dataclass
class ContextSection:
    """Held-out MLM by context length: the same masked tokens of long State of the Union addresses (held-out
    split) scored in windows of each length (``evaluation/context_windows.py``); a family whose position table is
    shorter than a length is reported as skipped there."""

    lengths: List[int] = field(default_factory=lambda: [128, 512, 1024])
    documents: int = 48  # addresses of at least max(lengths) tokens (each contributes its first max - 2)
    rate: float = 0.15
    batch_size: int = 8


@dataclass
class StudyConfig:
    """Arms x budgets: pretrain each (equal wall-clock budgets), evaluate held-out MLM, fine-tune downstream."""

    work_dir: str = "runs/quality-study"  # data, checkpoints and per-run results (resumable)
    out: str = "docs/benchmarks/quality"  # writes OUT.md, OUT.json, OUT.png
    arms: Dict[str, ArmSpec] = field(default_factory=dict)
    run_arms: Optional[List[str]] = None  # None: every arm
    # what the report compares: each claim's arm against its baseline (both among `arms`; one not run: 'not measured')
    claims: List[Claim] = field(default_factory=list)
    pretrain: Dict[str, Any] = field(default_factory=dict)  # overrides applied to every arm (shape, batch, lr...)
    seq_len: int = 128  # pretraining sequence length (the news corpus is packed at it)
    # MDS training corpus with a ``train`` split (e.g. ./data/c4 from convert_dataset.py); None: the bundled
    # news packed at seq_len (~2.6M tokens: enough for CPU budgets, a few steps of a GPU batch of 4096)
    train_data: Optional[str] = None
    train_split: str = "train"
    # learn a WordPiece vocabulary of this size from the bundled news for every arm (null: the recipes' tokenizer)
    train_vocab_size: Optional[int] = None
    base_budget_s: float = MISSING  # wall-clock seconds of the smallest budget on the calibrated machine
    budget_multipliers: List[float] = field(default_factory=lambda: [1.0, 2.0, 4.0])
    calibration_rounds: int = 3  # interleaved rounds; each arm trains calibration_steps per round (a fresh trainer)
    calibration_steps: int = 20
    run_overhead_s: float = 10.0  # per-run fixed cost in the printed estimate (build, checkpoint)
    seed: int = 17
    unigram_samples: Optional[int] = 200000  # training samples counted for the word-frequency baseline
    plan_only: bool = False  # prepare data, calibrate, print the plan and the time estimate, stop
    held_out: HeldOutSection = field(default_factory=HeldOutSection)
    context: Optional[ContextSection] = None  # None: no evaluation by context length
    downstream: DownstreamSection = field(default_factory=DownstreamSection)

    @property
    def selected_arms(self) -> list[str]:
        return list(self.run_arms) if self.run_arms is not None else list(self.arms)

    def validate(self) -> None:
        check_run_arms(self.arms, self.run_arms)
        check_claims(self.claims, self.arms, need_baseline=True)
        if self.base_budget_s <= 0 or not self.budget_multipliers or min(self.budget_multipliers) <= 0:
            raise ConfigError("config keys 'base_budget_s' / 'budget_multipliers': budgets must be positive")
        if self.calibration_rounds < 1 or self.calibration_steps < 2:
            raise ConfigError("config keys 'calibration_rounds' >= 1 and 'calibration_steps' >= 2 are required")
        if self.train_vocab_size is not None and (self.train_data or self.train_vocab_size < 128):
            raise ConfigError("config key 'train_vocab_size': learns from the bundled news only (no 'train_data') "
                              f"and needs at least 128 entries, got {self.train_vocab_size}")
        if not self.downstream.seeds:
            raise ConfigError("config key 'downstream.seeds': give at least one seed")
        if self.context is not None and (not self.context.lengths or min(self.context.lengths) < 3
                                         or not 0.0 < self.context.rate < 1.0 or self.context.documents < 1):
            raise ConfigError("config key 'context': give lengths of at least 3 tokens, documents >= 1 and a rate "
                              f"between 0 and 1 (got {self.context})")
        if not 0.0 < self.held_out.rate < 1.0:
            raise ConfigError(f"config key 'held_out.rate': must be between 0 and 1, got {self.held_out.rate}")
