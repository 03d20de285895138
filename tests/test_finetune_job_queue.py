"""Job queue: spawned CPU workers, thread split, dependencies, a worker that dies, GPU pinning."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

from mosaicbert.finetune.job_queue import available_cores, default_cpu_workers, run_jobs, worker_gpus


@dataclass(frozen=True)
class Job:
    name: str
    x: int = 0
    after: str | None = None
    sleep: float = 0.0
    die: bool = False
    parent: int = 0
    touch: str = ""  # a file this job creates when it starts
    wait_for: str = ""  # a file this job waits for (up to 60 s) before it finishes


def _work(job: Job) -> dict:
    """Top-level (picklable) job: report the process, its torch threads and GPU, and a value built from the job."""
    import torch

    if job.die:
        os._exit(3)
    if job.touch:
        open(job.touch, "w").close()
    deadline = time.monotonic() + 60
    while job.wait_for and not os.path.exists(job.wait_for) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(job.sleep)
    return {"pid": os.getpid(), "threads": torch.get_num_threads(), "value": job.x * 10 + job.parent,
            "gpu": os.environ.get("CUDA_VISIBLE_DEVICES")}


def _prepare(job: Job, done: dict) -> Job:
    parent = done.get(job.after) if job.after else None
    return dataclasses.replace(job, parent=parent["value"] if parent else 0)


def test_jobs_run_in_two_worker_processes_and_wait_for_their_dependency(tmp_path):
    started = str(tmp_path / "other-started")  # base finishes only once other runs: two workers at once
    jobs = [Job("base", 1, wait_for=started), Job("child", 2, after="base"), Job("other", 3, touch=started)]
    finished = []
    results = run_jobs(jobs, _work, workers=2, prepare=_prepare,
                       on_finish=lambda job, result: finished.append(job.name) or f"{job.name} done")
    assert {k: r["value"] for k, r in results.items()} == {"base": 10, "child": 30, "other": 30}
    assert finished.index("child") > finished.index("base")  # started only once base had finished
    assert results["base"]["pid"] != results["other"]["pid"] != os.getpid()  # two workers, concurrently
    assert {r["threads"] for r in results.values()} == {max(1, available_cores() // 2)}


def test_a_dead_worker_fails_only_its_job_and_the_fresh_pool_keeps_the_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")  # the GPUs this process was given (e.g. by SLURM)
    gpus = worker_gpus(1, os.environ["CUDA_VISIBLE_DEVICES"])
    jobs = [Job("dies", 1, die=True), Job("fine", 2), Job("later", 4)]
    results = run_jobs(jobs, _work, workers=1, gpus=gpus, on_crash=lambda job, message: {"error": message})
    assert results["dies"] == {"error": "worker process died (killed or out of memory?)"}
    assert results["fine"]["value"] == 20 and results["later"]["value"] == 40
    assert results["fine"]["gpu"] == results["later"]["gpu"] == "5"  # the environment the jobs ran in


def test_gpu_workers_map_through_the_visible_list():
    # SLURM hands out e.g. GPUs 4-7: worker i must get the i-th of those, not GPU i.
    assert worker_gpus(4, "4,5,6,7") == ["4", "5", "6", "7"]
    assert worker_gpus(2, "GPU-8a1f, GPU-77c0,GPU-1b2e") == ["GPU-8a1f", "GPU-77c0"]
    assert worker_gpus(2, None) == ["0", "1"]


def test_default_cpu_workers_scale_with_cores():
    assert [default_cpu_workers(c) for c in (1, 2, 4, 16, 64)] == [1, 1, 1, 4, 16]

