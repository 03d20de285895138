"""Job queue: spawned CPU workers, thread split, dependencies, and a worker that dies."""

from __future__ import annotations

import os
import time

from mosaicbert.glue.runner import QueuedJob, available_cores, default_cpu_workers, run_jobs


def _work(payload: dict) -> dict:
    """Top-level (picklable) job: report the process, its torch threads, and a value built from the payload."""
    import torch

    if payload.get("die"):
        os._exit(3)
    time.sleep(payload.get("sleep", 0))
    return {"pid": os.getpid(), "threads": torch.get_num_threads(), "value": payload["x"] * 10 + payload.get("parent", 0)}


def _prepare(job: QueuedJob, done: dict) -> dict:
    parent = done.get(job.after) if job.after else None
    return {**job.payload, "parent": parent["value"] if parent else 0}


def test_jobs_run_in_two_worker_processes_and_wait_for_their_dependency():
    jobs = [QueuedJob("base", {"x": 1, "sleep": 1.0}), QueuedJob("child", {"x": 2}, after="base"),
            QueuedJob("other", {"x": 3, "sleep": 0.5})]
    finished = []
    results = run_jobs(jobs, _work, workers=2, prepare=_prepare,
                       on_finish=lambda job, result: finished.append(job.name) or f"{job.name} done")
    assert {k: r["value"] for k, r in results.items()} == {"base": 10, "child": 30, "other": 30}
    assert finished.index("child") > finished.index("base")  # started only once base had finished
    assert results["base"]["pid"] != results["other"]["pid"] != os.getpid()  # two workers, concurrently
    assert {r["threads"] for r in results.values()} == {max(1, available_cores() // 2)}


def test_a_dead_worker_fails_only_its_job():
    jobs = [QueuedJob("dies", {"x": 1, "die": True}), QueuedJob("fine", {"x": 2}),
            QueuedJob("later", {"x": 4})]
    results = run_jobs(jobs, _work, workers=1, on_crash=lambda job, message: {"error": message})
    assert results["dies"] == {"error": "worker process died (killed or out of memory?)"}
    assert results["fine"]["value"] == 20 and results["later"]["value"] == 40


def test_default_cpu_workers_scale_with_cores():
    assert [default_cpu_workers(c) for c in (1, 2, 4, 16, 64)] == [1, 1, 1, 4, 16]
