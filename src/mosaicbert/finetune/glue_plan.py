"""From a validated GLUE config to its jobs: one per task and seed, MNLI first, its dependents waiting for it."""

from __future__ import annotations

from mosaicbert.finetune.config import MNLI, GlueConfig
from mosaicbert.finetune.glue_job import GlueJob, job_name
from mosaicbert.finetune.glue_tasks import GLUE_TASKS


def plan_jobs(cfg: GlueConfig) -> list[GlueJob]:
    """All jobs in GLUE registry order (MNLI first); tasks in ``from_mnli`` wait for the first MNLI seed."""
    hyperparameters = cfg.task_hyperparameters()
    needs_mnli = cfg.tasks_from_mnli()
    mnli_job = job_name(MNLI, hyperparameters[MNLI].seeds[0]) if needs_mnli else None
    return [
        GlueJob(task, seed, hyperparameters[task], after=mnli_job if task in needs_mnli else None,
                keeps_checkpoint=job_name(task, seed) == mnli_job)
        for task in GLUE_TASKS if task in hyperparameters
        for seed in hyperparameters[task].seeds
    ]
