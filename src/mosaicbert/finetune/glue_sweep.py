"""The GLUE sweep: plan jobs from the config, run them in worker processes, summarise.

Each job's result is saved under ``<output_dir>/jobs/`` as it finishes; a re-run skips jobs that already
succeeded (and reuses the MNLI checkpoint), so an interrupted sweep loses at most the jobs in flight.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mosaicbert.glue.config import GlueConfig
from mosaicbert.glue.data import DataFormatError, find_task_files, load_task_data
from mosaicbert.glue.finetune import NEW_HEADS, FinetuneSettings, finetune
from mosaicbert.glue.plan import GlueJob, plan_jobs
from mosaicbert.glue.results import JobResult
from mosaicbert.glue.runner import QueuedJob, default_cpu_workers, run_jobs
from mosaicbert.glue.summary import format_markdown, summarize, write_summary
from mosaicbert.glue.tasks import get_task

# From the MNLI-fine-tuned model only the classifier starts fresh (its pooler is trained already).
NEW_HEADS_FROM_MNLI = ("classifier",)


@dataclass
class JobSpec:
    """What a worker process needs to run one job (picklable)."""

    task: str
    seed: int
    settings: FinetuneSettings
    data_dir: str | None
    init_from: str | None
    expected_new_weights: tuple[str, ...]
    save_weights: str | None
    log_file: str
    note: str = ""


def run_glue_job(spec: JobSpec) -> JobResult:
    """Worker entry point: load the task's data, fine-tune, return metrics or a one-line error (never raises).

    Everything the job prints or logs goes to ``spec.log_file``, with the full traceback on failure.
    """
    start = time.perf_counter()
    Path(spec.log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log_file, "w", encoding="utf-8") as log, _captured_output(log):
        try:
            task = get_task(spec.task)
            metrics, _ = finetune(task, load_task_data(task, spec.data_dir), spec.settings, seed=spec.seed,
                                  init_from=spec.init_from, expected_new_weights=spec.expected_new_weights,
                                  save_weights=Path(spec.save_weights) if spec.save_weights else None)
            error = None
        except Exception as err:  # noqa: BLE001 - a failing task is reported, the sweep goes on
            traceback.print_exc(file=log)
            metrics, error = {}, one_line_error(err, spec.log_file)
    return JobResult(spec.task, spec.seed, metrics, error, time.perf_counter() - start, spec.note)


def one_line_error(err: Exception, log_file: str) -> str:
    """Data errors as they are; anything else with its type and where the traceback is."""
    if isinstance(err, DataFormatError):
        return str(err)
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first} (traceback in {log_file})"


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
    """One GLUE run: where its files go and how each job is prepared and recorded."""

    def __init__(self, cfg: GlueConfig):
        self.cfg = cfg
        self.out_dir = Path(cfg.output_dir)
        self.jobs = plan_jobs(cfg)
        self.tasks = list(dict.fromkeys(job.task for job in self.jobs))
        self.mnli_parents = {job.after for job in self.jobs if job.after}

    def settings(self, job: GlueJob) -> FinetuneSettings:
        cfg = self.cfg
        return FinetuneSettings(model=dataclasses.asdict(cfg.model), params=job.params, optimizer=dict(cfg.optimizer),
                                scheduler=dict(cfg.scheduler), precision=cfg.precision)

    def result_file(self, name: str) -> Path:
        return self.out_dir / "jobs" / f"{name}.json"

    def checkpoint_file(self, name: str) -> Path:
        return self.out_dir / "checkpoints" / f"{name}.pt"

    def finished_before(self) -> dict[str, JobResult]:
        """Successful results of an earlier run (an MNLI parent counts only if its checkpoint is there too)."""
        found = {}
        for job in self.jobs:
            result = JobResult.load(self.result_file(job.name))
            if result and (job.name not in self.mnli_parents or self.checkpoint_file(job.name).is_file()):
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

    def prepare(self, queued: QueuedJob, done: dict[str, JobResult]) -> JobSpec:
        job: GlueJob = queued.payload
        init_from, new_heads, note = self.cfg.model.init_from, NEW_HEADS, ""
        if job.after:
            parent = done.get(job.after)
            if parent is not None and parent.ok:
                init_from, new_heads = str(self.checkpoint_file(job.after)), NEW_HEADS_FROM_MNLI
                note = f"started from the MNLI checkpoint ({job.after})"
            else:
                note = f"MNLI ({job.after}) failed: started from model.init_from instead"
        return JobSpec(job.task, job.seed, self.settings(job), self.cfg.data_dir, init_from, new_heads,
                       str(self.checkpoint_file(job.name)) if job.name in self.mnli_parents else None,
                       str(self.out_dir / "logs" / f"{job.name}.log"), note)

    def record(self, queued: QueuedJob, result: JobResult) -> str:
        """Save a finished job's result; the line shown under the progress bar."""
        result.save(self.result_file(result.name))
        if not result.ok:
            return f"{result.name}: FAILED: {result.error}"
        metrics = ", ".join(f"{k} {100 * v:.2f}" for k, v in result.metrics.items())
        return f"{result.name}: {metrics} ({result.seconds:.0f} s)"

    def crashed(self, queued: QueuedJob, message: str) -> JobResult:
        job: GlueJob = queued.payload
        return JobResult(job.task, job.seed, error=f"{message}; see {self.out_dir / 'logs' / (job.name + '.log')}")


def run_glue(cfg: GlueConfig, *, echo: Callable[[str], None] = print) -> dict:
    """Run every planned job (skipping those finished earlier), write and print the summary; return it."""
    import torch

    sweep = GlueSweep(cfg)
    done = {**sweep.finished_before(), **sweep.missing_data()}
    for name, result in done.items():
        echo(f"{name}: {'done in an earlier run' if result.ok else 'FAILED: ' + result.error}")
    todo = [QueuedJob(job.name, job, job.after) for job in sweep.jobs if job.name not in done]
    gpus = list(range(torch.cuda.device_count()))
    workers = len(gpus) or cfg.workers or default_cpu_workers()
    echo(f"GLUE: {len(todo)} jobs to run ({len(done)} already done) on "
         f"{f'{len(gpus)} GPUs' if gpus else f'{workers} CPU processes'}; results in {sweep.out_dir}")
    results = run_jobs(todo, run_glue_job, workers=workers, gpus=gpus, prepare=sweep.prepare,
                       on_finish=sweep.record, on_crash=sweep.crashed, done=done, desc="GLUE jobs")
    ordered = [results[job.name] for job in sweep.jobs]
    summary = summarize(ordered, sweep.tasks)
    summary["run_name"] = cfg.run_name
    paths = write_summary(summary, sweep.out_dir, title=f"GLUE: {cfg.run_name}")
    echo(format_markdown(summary, title=f"GLUE: {cfg.run_name}"))
    echo("written: " + ", ".join(str(p) for p in paths.values()))
    return summary
