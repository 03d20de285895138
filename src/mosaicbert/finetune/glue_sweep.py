"""The GLUE sweep: plan jobs from the config, run them in worker processes, summarise.

Each job's result is saved under ``<output_dir>/jobs/`` as it finishes; a re-run skips jobs that already
succeeded (and reuses the MNLI checkpoint), so an interrupted sweep loses at most the jobs in flight.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from mosaicbert.finetune.config import GlueConfig
from mosaicbert.finetune.data import DataFormatError, find_task_files, load_task_data
from mosaicbert.finetune.glue_job import GlueJob, JobResult
from mosaicbert.finetune.glue_plan import plan_jobs
from mosaicbert.finetune.glue_summary import GlueSummary, format_markdown, summarize, write_summary
from mosaicbert.finetune.glue_tasks import get_task
from mosaicbert.finetune.job_queue import cuda_context_lost, default_cpu_workers, run_jobs, worker_gpus
from mosaicbert.finetune.run import finetune

# From the MNLI-fine-tuned model only the classifier starts fresh (its pooler is trained already).
NEW_HEADS_FROM_MNLI = ("classifier",)


def log_file(out_dir: Path, name: str) -> Path:
    return out_dir / "logs" / f"{name}.log"


def result_file(out_dir: Path, name: str) -> Path:
    return out_dir / "jobs" / f"{name}.json"


def checkpoint_file(out_dir: Path, name: str) -> Path:
    return out_dir / "checkpoints" / f"{name}.pt"


def run_glue_job(cfg: GlueConfig, job: GlueJob) -> JobResult:
    """Worker entry point: load the task's data, fine-tune, return metrics or a one-line error (never raises).

    Everything the job prints or logs goes to ``logs/<job>.log``, with the full traceback on failure.
    """
    start = time.perf_counter()
    out_dir = Path(cfg.output_dir)
    log = log_file(out_dir, job.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as stream, _captured_output(stream):
        try:
            task = get_task(job.task)
            metrics, _ = finetune(task, load_task_data(task, cfg.data_dir), cfg, job.hyperparameters, seed=job.seed,
                                  init_from=job.start_from,
                                  expected_new_weights=NEW_HEADS_FROM_MNLI if job.start_from else None,
                                  save_weights=checkpoint_file(out_dir, job.name) if job.keeps_checkpoint else None)
            error = None
        except Exception as err:  # noqa: BLE001 - a failing task is reported, the sweep goes on
            traceback.print_exc(file=stream)
            metrics, error = {}, one_line_error(err, log)
    return JobResult(job.task, job.seed, metrics, error, time.perf_counter() - start, job.note)


def one_line_error(err: Exception, log: Path) -> str:
    """Data errors as they are; anything else with its type and where the traceback is."""
    if isinstance(err, DataFormatError):
        return str(err)
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first} (traceback in {log})"


@contextlib.contextmanager
def _captured_output(stream):
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


class GlueSweep:
    """One GLUE run: its jobs, what an earlier run finished, and how each job is started and recorded."""

    def __init__(self, cfg: GlueConfig):
        self.cfg = cfg
        self.out_dir = Path(cfg.output_dir)
        self.jobs = plan_jobs(cfg)
        self.tasks = list(dict.fromkeys(job.task for job in self.jobs))

    def finished_before(self) -> dict[str, JobResult]:
        """Successful results of an earlier run (an MNLI parent counts only if its checkpoint is there too)."""
        found = {}
        for job in self.jobs:
            result = JobResult.load(result_file(self.out_dir, job.name))
            if result and (not job.keeps_checkpoint or checkpoint_file(self.out_dir, job.name).is_file()):
                found[job.name] = result
        return found

    def missing_data(self) -> dict[str, JobResult]:
        """Failure results for the jobs of tasks whose local files are missing (found before any training)."""
        if self.cfg.data_dir is None:
            return {}
        failed = {}
        for task in self.tasks:
            try:
                find_task_files(get_task(task), self.cfg.data_dir)
            except DataFormatError as err:
                failed.update({j.name: JobResult(j.task, j.seed, error=str(err)) for j in self.jobs if j.task == task})
        return failed

    def prepare(self, job: GlueJob, done: dict[str, JobResult]) -> GlueJob:
        """Where a job starts from, once the MNLI job it waits for has finished."""
        if not job.after:
            return job
        parent = done.get(job.after)
        if parent is not None and parent.ok:
            return dataclasses.replace(job, start_from=str(checkpoint_file(self.out_dir, job.after)),
                                       note=f"started from the MNLI checkpoint ({job.after})")
        return dataclasses.replace(job, note=f"MNLI ({job.after}) failed: started from model.init_from instead")

    def record(self, job: GlueJob, result: JobResult) -> str:
        """Save a finished job's result; the line shown under the progress bar."""
        result.save(result_file(self.out_dir, result.name))
        if not result.ok:
            return f"{result.name}: FAILED: {result.error}"
        metrics = ", ".join(f"{k} {100 * v:.2f}" for k, v in result.metrics.items())
        return f"{result.name}: {metrics} ({result.seconds:.0f} s)"

    def crashed(self, job: GlueJob, message: str) -> JobResult:
        return JobResult(job.task, job.seed, error=f"{message}; see {log_file(self.out_dir, job.name)}")


def run_glue(cfg: GlueConfig, *, echo: Callable[[str], None] = print) -> GlueSummary:
    """Run every planned job (skipping those finished earlier), write and print the summary; return it."""
    import torch

    sweep = GlueSweep(cfg)
    done = {**sweep.finished_before(), **sweep.missing_data()}
    for name, result in done.items():
        echo(f"{name}: {'done in an earlier run' if result.ok else 'FAILED: ' + result.error}")
    todo = [job for job in sweep.jobs if job.name not in done]
    gpus = worker_gpus(torch.cuda.device_count(), os.environ.get("CUDA_VISIBLE_DEVICES")) if cfg.device == "gpu" else []
    workers = len(gpus) or cfg.workers or default_cpu_workers()
    where = f"{len(gpus)} GPUs ({', '.join(gpus)})" if gpus else f"{workers} CPU processes"
    succeeded = sum(result.ok for result in done.values())  # a task without data is not "done"
    echo(f"GLUE: {len(todo)} jobs to run ({succeeded} already done) on {where}; results in {sweep.out_dir}")
    results = run_jobs(todo, functools.partial(run_glue_job, cfg), workers=workers, gpus=gpus, prepare=sweep.prepare,
                       on_finish=sweep.record, on_crash=sweep.crashed, done=done, desc="GLUE jobs",
                       poisons_worker=lambda result: cuda_context_lost(result.error))
    summary = summarize([results[job.name] for job in sweep.jobs], sweep.tasks, run_name=cfg.run_name)
    title = f"GLUE: {cfg.run_name}"
    paths = write_summary(summary, sweep.out_dir, title=title)
    echo(format_markdown(summary, title=title))
    echo("written: " + ", ".join(str(p) for p in paths.values()))
    return summary
