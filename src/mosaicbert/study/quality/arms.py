"""An arm's pretraining config: a recipe YAML of this repository + the study's shared overrides + the arm's own.

Each arm is built by ``config.loading.load_config`` from the recipe it names (``yamls/hf-bert-base.yaml``,
``yamls/mosaic-bert-base.yaml``), so changes to the recipes and to ``main.py``'s machinery reach the
study unchanged. Overrides apply in this order: study ``pretrain`` (shape, batch, lr, ...), the arm's
``overrides``, then the run's own keys (data, duration, folders), which are the same for every arm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.training.schema import PretrainConfig

from ..overrides import dotlist, flatten
from .config import StudyConfig


def vocabulary_dir(study: StudyConfig) -> Path:
    """Where the study's own WordPiece vocabulary is kept (``train_vocab_size``)."""
    return Path(study.work_dir) / "data" / f"wordpiece-{study.train_vocab_size}"


def tokenizer_name(study: StudyConfig) -> str:
    """The one tokenizer of the study's arms (the data is packed once, for every arm)."""
    if study.train_vocab_size is not None:
        return str(vocabulary_dir(study))
    names = set()
    for arm in study.selected_arms:
        recipe = OmegaConf.load(study.arms[arm].recipe)
        keys = {**flatten(study.pretrain), **flatten(study.arms[arm].overrides)}
        names.add(keys.get("model.tokenizer_name", OmegaConf.select(recipe, "model.tokenizer_name")))
    if len(names) != 1:
        raise ConfigError(f"config key 'arms': the arms use different tokenizers ({sorted(map(str, names))}); "
                          "the study packs one corpus for all")
    return names.pop()


def data_dir(study: StudyConfig, corpus: str, seq_len: int) -> Path:
    """Where the study keeps ``corpus`` (``news`` or ``parliament``) packed into ``seq_len``-token samples."""
    return Path(study.work_dir) / "data" / f"{corpus}-{seq_len}"


def run_keys(study: StudyConfig, run_name: str, max_duration: str, run_dir: Path | None) -> dict[str, Any]:
    """Keys every arm shares for one run: data and its order, seed, duration, folders (no in-training eval), and
    the study's own vocabulary if it learns one."""
    folder = str(run_dir / "checkpoints") if run_dir is not None else None
    tensorboard = str((run_dir or Path(study.work_dir) / "calibration" / run_name) / "tensorboard")
    return {
        "run_name": run_name, "seed": study.seed, "max_seq_len": study.seq_len,
        "train_loader.local": study.train_data or str(data_dir(study, "news", study.seq_len)),
        "train_loader.split": study.train_split if study.train_data else "train",
        "train_loader.shuffle": True, "train_loader.shuffle_seed": study.seed,
        "eval_loader": None, "max_duration": max_duration,
        "save_folder": folder, "save_interval": max_duration, "save_num_checkpoints_to_keep": 1,
        "autoresume": folder is not None, "save_overwrite": False, "export_hf_dir": None,
        "loggers.tensorboard.log_dir": tensorboard,
        **({"model.tokenizer_name": tokenizer_name(study), "model.model_config.vocab_size": study.train_vocab_size}
           if study.train_vocab_size is not None else {}),
    }


def arm_overrides(study: StudyConfig, arm: str, run_name: str, max_duration: str,
                  run_dir: Path | None) -> list[str]:
    """The ``key=value`` overrides of ``arm``'s recipe for one run (in application order)."""
    return dotlist({**flatten(study.pretrain), **flatten(study.arms[arm].overrides),
                    **run_keys(study, run_name, max_duration, run_dir)})


def arm_config(study: StudyConfig, arm: str, *, run_name: str, max_duration: str,
               run_dir: Path | None = None) -> PretrainConfig:
    """The validated ``PretrainConfig`` of ``arm`` for one run (``run_dir=None``: no checkpoints, e.g. calibration)."""
    return load_config(study.arms[arm].recipe, arm_overrides(study, arm, run_name, max_duration, run_dir),
                       PretrainConfig)
