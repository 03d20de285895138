"""Config schemas of ``glue.py`` and ``sequence_classification.py`` (loaded by ``config.loading.load_config``).

A loaded config is complete and checked: the model section, the precision on this machine and, for GLUE,
every task's resolved hyperparameters. Planning the GLUE jobs from it is ``glue_plan``'s business.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from mosaicbert.config.components import OPTIMIZERS, SCHEDULERS
from mosaicbert.config.loading import ConfigError, registry_field, time_field
from mosaicbert.config.model_section import ModelSection
from mosaicbert.did_you_mean import did_you_mean
from mosaicbert.finetune.glue_tasks import GLUE_TASKS
from mosaicbert.precision import default_device, resolve_precision

REQUIRED_HYPERPARAMETERS = ("lr", "weight_decay", "max_duration", "batch_size")
DEFAULT_MAX_SEQ_LEN = 256
DEFAULT_SEEDS = (19,)
# DataLoader worker processes per job when ``loader_workers`` is null: on a GPU, tokenizer collation (dynamic
# padding) in the training process would sit between steps; on CPU the job's own cores are better spent training.
DEFAULT_LOADER_WORKERS = {"gpu": 2, "cpu": 0}
MNLI = "mnli"


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

    def over(self, base: Hyperparameters) -> Hyperparameters:
        """These values where given, else ``base``'s."""
        given = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return dataclasses.replace(base, **given)

    def resolved(self, key: str, where: str = "") -> Hyperparameters:
        """Every field set (built-in defaults for the optional ones); a missing required one is a ConfigError."""
        missing = [k for k in REQUIRED_HYPERPARAMETERS if getattr(self, k) is None]
        if missing:
            raise ConfigError(f"config key '{key}.{missing[0]}': a value is required{where} but none was given")
        return dataclasses.replace(
            self,
            eval_batch_size=self.eval_batch_size or self.batch_size,
            max_seq_len=self.max_seq_len or DEFAULT_MAX_SEQ_LEN,
            eval_interval=self.eval_interval or self.max_duration,
            seeds=list(DEFAULT_SEEDS if self.seeds is None else self.seeds),
        )


@dataclass
class FinetuneConfig:
    """What every fine-tuning run shares: the model to start from, optimizer, schedule, precision."""

    run_name: str = MISSING
    output_dir: str = MISSING
    precision: str = "amp_bf16"
    model: FinetuneModelSection = field(default_factory=FinetuneModelSection)
    optimizer: Dict[str, Any] = registry_field(OPTIMIZERS, many=False, default_factory=_optimizer)
    scheduler: Dict[str, Any] = registry_field(SCHEDULERS, many=False, default_factory=_scheduler)
    loader_workers: Optional[int] = None  # DataLoader workers per job (null: DEFAULT_LOADER_WORKERS of the device)

    @property
    def device(self) -> str:
        """``gpu`` when CUDA is available, else ``cpu`` (``mosaicbert.precision.default_device``)."""
        return default_device()

    @property
    def num_loader_workers(self) -> int:
        """``loader_workers``, or the device's default (2 on a GPU, 0 on CPU)."""
        return DEFAULT_LOADER_WORKERS[self.device] if self.loader_workers is None else self.loader_workers

    def validate(self) -> None:
        """The model section against the model registry, the precision on this machine, the loader workers."""
        self.model.check()
        resolve_precision(self.precision, self.device)
        if self.loader_workers is not None and self.loader_workers < 0:
            raise ConfigError(f"config key 'loader_workers': must be 0 or more, got {self.loader_workers}")


@dataclass
class GlueConfig(FinetuneConfig):
    """``glue.py``'s config: shared settings, ``task_defaults`` and one ``tasks.<name>`` section per task."""

    run_name: str = "glue"
    data_dir: Optional[str] = None  # None: Hub dataset nyu-mll/glue; else GLUE's TSVs or <task>/<split>.jsonl
    workers: Optional[int] = None  # CPU processes (None: one per 4 cores); with GPUs: one job per GPU
    from_mnli: List[str] = field(default_factory=lambda: ["rte", "mrpc", "stsb"])
    run_tasks: Optional[List[str]] = None  # None: every task in ``tasks``
    task_defaults: Hyperparameters = field(default_factory=Hyperparameters)
    tasks: Dict[str, Hyperparameters] = field(default_factory=dict)

    def task_hyperparameters(self) -> dict[str, Hyperparameters]:
        """Each selected task's resolved hyperparameters (built-in < ``task_defaults`` < ``tasks.<name>``)."""
        if not self.tasks:
            raise ConfigError("config key 'tasks': give at least one task, e.g. tasks.rte: {lr: 1.0e-5, ...}")
        for name in self.tasks:
            _check_task_name(name, f"tasks.{name}")
        selected = {}
        for name in self.run_tasks or self.tasks:
            _check_task_name(name, "run_tasks")
            if name not in self.tasks:
                raise ConfigError(f"config key 'run_tasks': task {name!r} has no section 'tasks.{name}'")
            merged = self.tasks[name].over(self.task_defaults)
            selected[name] = merged.resolved(f"tasks.{name}", " (here or in task_defaults)")
            self.model.check_length(selected[name].max_seq_len, f"tasks.{name}.max_seq_len")
            if not selected[name].seeds:
                raise ConfigError(f"config key 'tasks.{name}.seeds': give at least one seed")
        return selected

    def tasks_from_mnli(self) -> list[str]:
        """The selected tasks that start from the MNLI-fine-tuned checkpoint."""
        selected = self.run_tasks or list(self.tasks)
        return [name for name in self.from_mnli if name in selected]

    def validate(self) -> None:
        """Model, precision, worker count, every task section and the MNLI-first dependency."""
        super().validate()
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"config key 'workers': must be at least 1, got {self.workers}")
        selected = self.task_hyperparameters()
        self._check_data_dir(list(selected))
        for name in self.from_mnli:
            _check_task_name(name, "from_mnli")
            if name == MNLI:
                raise ConfigError("config key 'from_mnli': mnli cannot start from itself")
        needs_mnli = self.tasks_from_mnli()
        if needs_mnli and MNLI not in selected:
            raise ConfigError(f"config key 'from_mnli': {', '.join(needs_mnli)} start from the MNLI-fine-tuned "
                              "checkpoint but mnli is not run; add it to run_tasks or set from_mnli=[]")

    def _check_data_dir(self, tasks: list[str]) -> None:
        """``data_dir`` is a directory holding some task's folder; one task's missing folder fails only that task."""
        if self.data_dir is None:
            return
        from mosaicbert.finetune.data import task_folders

        if not Path(self.data_dir).expanduser().is_dir():
            raise ConfigError(f"config key 'data_dir': no directory {self.data_dir!r}")
        folders = [folder for name in tasks for folder in task_folders(GLUE_TASKS[name], self.data_dir)]
        if not any(folder.is_dir() for folder in folders):
            raise ConfigError(f"config key 'data_dir': {self.data_dir!r} holds none of the tasks' folders "
                              f"({', '.join(dict.fromkeys(folder.name for folder in folders))})")


def _check_task_name(name: str, key: str) -> None:
    if name not in GLUE_TASKS:
        raise ConfigError(f"config key '{key}': unknown GLUE task {name!r}{did_you_mean(name, GLUE_TASKS)}; "
                          f"choose from: {', '.join(GLUE_TASKS)}")


@dataclass
class DataFiles:
    """A user's own data: CSV (header row) or JSONL files with a text, optional text pair and label column."""

    train_file: str = MISSING
    eval_file: str = MISSING
    text_column: str = "text"
    text_pair_column: Optional[str] = "text_pair"  # used when the training file has this column
    label_column: str = "label"


@dataclass
class SequenceClassificationConfig(FinetuneConfig):
    """``sequence_classification.py``'s config: one task on the user's data, then export to Hugging Face."""

    run_name: str = "sequence-classification"
    task_type: str = "classification"  # classification | regression
    labels: Optional[List[str]] = None  # class names in id order; None: the sorted labels of the training file
    data: DataFiles = field(default_factory=DataFiles)
    seed: int = 17
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    export_dir: Optional[str] = None  # Hugging Face directory of the fine-tuned model; None: no export

    def validate(self) -> None:
        super().validate()
        if self.task_type not in ("classification", "regression"):
            raise ConfigError(f"config key 'task_type': {self.task_type!r} is not one of: classification, regression")
        self.model.check_length(self.hyperparameters.resolved("hyperparameters").max_seq_len,
                                "hyperparameters.max_seq_len")
        for key in ("train_file", "eval_file"):  # a missing input location: exit 2 before anything is built
            if not Path(getattr(self.data, key)).expanduser().is_file():
                raise ConfigError(f"config key 'data.{key}': no such file {getattr(self.data, key)!r}")
        if self.hyperparameters.seeds is not None:
            raise ConfigError("config key 'hyperparameters.seeds': one run here; set the top-level 'seed' instead")
