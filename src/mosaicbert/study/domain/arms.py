"""An arm's pretraining config: the domain recipe + the study's shared overrides + the arm's own + the run's keys
(its vocabulary's tokenizer and packed streams, seed, duration, folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mosaicbert.config.loading import load_config
from mosaicbert.training.schema import PretrainConfig

from ..overrides import dotlist, flatten
from .config import DomainStudyConfig
from .data import CORPORA, stream_dir, tokenizer_name


def run_keys(study: DomainStudyConfig, arm: str, seed: int, run_name: str, max_duration: str,
             run_dir: Path | None) -> dict[str, Any]:
    vocabulary = study.arms[arm].vocabulary
    folder = str(run_dir / "checkpoints") if run_dir is not None else None
    tensorboard = str((run_dir or Path(study.work_dir) / "calibration" / run_name) / "tensorboard")
    return {
        "run_name": run_name, "seed": seed, "max_seq_len": study.seq_len,
        "model.tokenizer_name": tokenizer_name(study, vocabulary),
        **{f"train_loader.streams.{c}.local": str(stream_dir(study, vocabulary, c)) for c in CORPORA},
        "train_loader.split": "train", "train_loader.shuffle": True, "train_loader.shuffle_seed": seed,
        "eval_loader": None, "max_duration": max_duration,
        "save_folder": folder, "save_interval": max_duration, "save_num_checkpoints_to_keep": 1,
        "autoresume": folder is not None, "save_overwrite": False, "export_hf_dir": None,
        "loggers.tensorboard.log_dir": tensorboard,
    }


def arm_config(study: DomainStudyConfig, arm: str, *, seed: int, run_name: str, max_duration: str,
               run_dir: Path | None = None, **extra: Any) -> PretrainConfig:
    """The validated ``PretrainConfig`` of ``arm`` for one run (``run_dir=None``: no checkpoints; ``extra``:
    dotted keys applied last)."""
    keys = {**flatten(study.pretrain), **flatten(study.arms[arm].overrides),
            **run_keys(study, arm, seed, run_name, max_duration, run_dir), **extra}
    return load_config(study.recipe, dotlist(keys), PretrainConfig)
