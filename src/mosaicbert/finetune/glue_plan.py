"""From the GLUE config to a list of jobs: per-task hyperparameters, seeds and the MNLI-first dependency."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mosaicbert.glue.results import job_name
from mosaicbert.glue.tasks import GLUE_TASKS
from mosaicbert.training import ConfigError
from mosaicbert.training.config import did_you_mean

if TYPE_CHECKING:
    from mosaicbert.glue.config import GlueConfig

REQUIRED_KEYS = ("lr", "weight_decay", "max_duration", "batch_size")
DEFAULTS = {"seeds": [19]}
MNLI = "mnli"


@dataclass(frozen=True)
class GlueJob:
    """Fine-tune one task with one seed; ``after`` names the MNLI job it starts from, if any."""

    task: str
    seed: int
    params: dict[str, Any] = field(hash=False)
    after: str | None = None

    @property
    def name(self) -> str:
        return job_name(self.task, self.seed)


def _check_task_name(name: str, key: str) -> None:
    if name not in GLUE_TASKS:
        raise ConfigError(f"config key '{key}': unknown GLUE task {name!r}{did_you_mean(name, GLUE_TASKS)}; "
                          f"choose from: {', '.join(GLUE_TASKS)}")


def _given(hparams: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(hparams).items() if v is not None}


def task_params(cfg: GlueConfig) -> dict[str, dict[str, Any]]:
    """Each selected task's hyperparameters: defaults < ``task_defaults`` < ``tasks.<name>``, checked."""
    if not cfg.tasks:
        raise ConfigError("config key 'tasks': give at least one task, e.g. tasks.rte: {lr: 1.0e-5, ...}")
    for name in cfg.tasks:
        _check_task_name(name, f"tasks.{name}")
    selected = list(cfg.run_tasks) if cfg.run_tasks else list(cfg.tasks)
    params = {}
    for name in selected:
        _check_task_name(name, "run_tasks")
        if name not in cfg.tasks:
            raise ConfigError(f"config key 'run_tasks': task {name!r} has no section 'tasks.{name}'")
        merged = {**DEFAULTS, **_given(cfg.task_defaults), **_given(cfg.tasks[name])}
        missing = [k for k in REQUIRED_KEYS if k not in merged]
        if missing:
            raise ConfigError(f"config key 'tasks.{name}.{missing[0]}': a value is required (here or in task_defaults)")
        if not merged["seeds"]:
            raise ConfigError(f"config key 'tasks.{name}.seeds': give at least one seed")
        params[name] = merged
    return params


def plan_jobs(cfg: GlueConfig) -> list[GlueJob]:
    """All jobs in GLUE registry order (MNLI first); tasks in ``from_mnli`` wait for the first MNLI seed."""
    params = task_params(cfg)
    for name in cfg.from_mnli:
        _check_task_name(name, "from_mnli")
        if name == MNLI:
            raise ConfigError("config key 'from_mnli': mnli cannot start from itself")
    needs_mnli = [t for t in cfg.from_mnli if t in params]
    if needs_mnli and MNLI not in params:
        raise ConfigError(f"config key 'from_mnli': {', '.join(needs_mnli)} start from the MNLI-fine-tuned checkpoint "
                          "but mnli is not run; add it to run_tasks or set from_mnli=[]")
    mnli_job = job_name(MNLI, params[MNLI]["seeds"][0]) if needs_mnli else None
    return [
        GlueJob(task, seed, params[task], after=mnli_job if task in needs_mnli else None)
        for task in GLUE_TASKS if task in params
        for seed in params[task]["seeds"]
    ]
