"""Config schemas of ``glue.py`` and ``sequence_classification.py`` (loaded by ``mosaicbert.training.load_config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from mosaicbert.training import OPTIMIZERS, SCHEDULERS, ConfigError, registry_field, resolve_precision, time_field
from mosaicbert.training.config import did_you_mean
from mosaicbert.training.schema import ModelSection


def _optimizer() -> Dict[str, Any]:
    return {"name": "decoupled_adamw", "betas": [0.9, 0.98], "eps": 1.0e-6}


def _scheduler() -> Dict[str, Any]:
    return {"name": "linear_decay_with_warmup", "t_warmup": "0.06dur", "alpha_f": 0.0}


@dataclass
class FinetuneModelSection(ModelSection):
    """The pretraining model section, except that ``init_from`` must be given (``null`` for a random init)."""

    init_from: Optional[str] = MISSING


@dataclass
class Hyperparameters:
    """Fine-tuning hyperparameters of one task. In the GLUE YAML every field is optional per task and
    falls back to ``task_defaults``; ``lr``, ``weight_decay``, ``max_duration`` and ``batch_size`` must end up set.
    """

    lr: Optional[float] = None
    weight_decay: Optional[float] = None
    max_duration: Optional[str] = time_field(None)  # Composer time, e.g. 3ep or 1000ba
    batch_size: Optional[int] = None
    eval_batch_size: Optional[int] = None  # None: batch_size
    max_seq_len: Optional[int] = None  # None: 256
    eval_interval: Optional[str] = time_field(None)  # None: evaluate once, after training
    seeds: Optional[List[int]] = None  # None: [19]


@dataclass
class GlueConfig:
    """``glue.py``'s config: shared settings, ``task_defaults`` and one ``tasks.<name>`` section per task."""

    run_name: str = "glue"
    output_dir: str = MISSING
    data_dir: Optional[str] = None  # None: Hub dataset nyu-mll/glue; else GLUE's TSVs or <task>/<split>.jsonl
    workers: Optional[int] = None  # CPU processes (None: one per 4 cores); with GPUs: one job per GPU
    precision: str = "amp_bf16"
    from_mnli: List[str] = field(default_factory=lambda: ["rte", "mrpc", "stsb"])
    run_tasks: Optional[List[str]] = None  # None: every task in ``tasks``
    model: FinetuneModelSection = field(default_factory=FinetuneModelSection)
    optimizer: Dict[str, Any] = registry_field(OPTIMIZERS, many=False, default_factory=_optimizer)
    scheduler: Dict[str, Any] = registry_field(SCHEDULERS, many=False, default_factory=_scheduler)
    task_defaults: Hyperparameters = field(default_factory=Hyperparameters)
    tasks: Dict[str, Hyperparameters] = field(default_factory=dict)

    def validate(self) -> None:
        """Model name, precision, worker count; the task plan itself is checked by ``plan_jobs``."""
        from mosaicbert.glue.plan import plan_jobs

        check_model_and_precision(self.model, self.precision)
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"config key 'workers': must be at least 1, got {self.workers}")
        plan_jobs(self)


@dataclass
class DataFiles:
    """A user's own data: CSV (header row) or JSONL files with a text, optional text pair and label column."""

    train_file: str = MISSING
    eval_file: str = MISSING
    text_column: str = "text"
    text_pair_column: Optional[str] = "text_pair"  # used when the training file has this column
    label_column: str = "label"


@dataclass
class SequenceClassificationConfig:
    """``sequence_classification.py``'s config: one task on the user's data, then export to Hugging Face."""

    run_name: str = "sequence-classification"
    output_dir: str = MISSING
    task_type: str = "classification"  # classification | regression
    labels: Optional[List[str]] = None  # class names in id order; None: the sorted labels of the training file
    data: DataFiles = field(default_factory=DataFiles)
    seed: int = 17
    precision: str = "amp_bf16"
    model: FinetuneModelSection = field(default_factory=FinetuneModelSection)
    optimizer: Dict[str, Any] = registry_field(OPTIMIZERS, many=False, default_factory=_optimizer)
    scheduler: Dict[str, Any] = registry_field(SCHEDULERS, many=False, default_factory=_scheduler)
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    export_dir: Optional[str] = None  # Hugging Face directory of the fine-tuned model; None: no export

    def validate(self) -> None:
        from mosaicbert.glue.plan import REQUIRED_KEYS

        check_model_and_precision(self.model, self.precision)
        if self.task_type not in ("classification", "regression"):
            raise ConfigError(f"config key 'task_type': {self.task_type!r} is not one of: classification, regression")
        for key in REQUIRED_KEYS:
            if getattr(self.hyperparameters, key) is None:
                raise ConfigError(f"config key 'hyperparameters.{key}': a value is required but none was given")
        if self.hyperparameters.seeds is not None:
            raise ConfigError("config key 'hyperparameters.seeds': one run here; set the top-level 'seed' instead")


def check_model_and_precision(model: FinetuneModelSection, precision: str) -> None:
    """``model.name`` is a known model and ``precision`` runs on this machine."""
    import torch

    from mosaicbert.models import MODEL_REGISTRY

    if model.name not in MODEL_REGISTRY:
        raise ConfigError(f"config key 'model.name': unknown model {model.name!r}{did_you_mean(model.name, MODEL_REGISTRY)}"
                          f"; choose from: {', '.join(MODEL_REGISTRY)}")
    resolve_precision(precision, "gpu" if torch.cuda.is_available() else "cpu")
