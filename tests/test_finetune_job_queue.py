"""Job queue: spawned CPU workers, thread split, dependencies, a worker that dies or is poisoned, GPU pinning."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from dataclasses import dataclass

from mosaicbert.finetune.job_queue import (
    DIED,
    available_cores,
    cuda_context_lost,
    default_cpu_workers,
    run_jobs,
    worker_gpus,
)

ILLEGAL_ACCESS = "CUDA error: an illegal memory access was encountered"


@dataclass(frozen=True)
class Job:
    name: str
    x: int = 0
    after: str | None = None
    sleep: float = 0.0
    die: bool = False
    parent: int = 0
    touch: str = ""  # a file this job creates when it starts (holding its worker's pid)
    wait_for: str = ""  # a file this job waits for (up to 60 s) before it finishes
    raises: str = ""  # a RuntimeError this job raises
    error: str = ""  # an error this job reports in its result
    report_threads: bool = False


def _work(job: Job) -> dict:
    """Top-level (picklable) job: report the process, its GPU, torch threads if asked, a value built from the job."""
    if job.die:
        os._exit(3)
    if job.raises:
        raise RuntimeError(job.raises)
    if job.touch:
        with open(job.touch, "w") as out:
            out.write(str(os.getpid()))
    deadline = time.monotonic() + 60
    while job.wait_for and not os.path.exists(job.wait_for) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(job.sleep)
    threads = None
    if job.report_threads:  # importing torch takes seconds
        import torch

        threads = torch.get_num_threads()
    return {"pid": os.getpid(), "threads": threads, "value": job.x * 10 + job.parent,
            "gpu": os.environ.get("CUDA_VISIBLE_DEVICES"), "error": job.error}


def _prepare(job: Job, done: dict) -> Job:
    parent = done.get(job.after) if job.after else None
    return dataclasses.replace(job, parent=parent["value"] if parent else 0)


def test_jobs_run_in_two_worker_processes_and_wait_for_their_dependency(tmp_path):
    started = str(tmp_path / "other-started")  # base finishes only once other runs: two workers at once
    jobs = [Job("base", 1, wait_for=started, report_threads=True), Job("child", 2, after="base", report_threads=True),
            Job("other", 3, touch=started, report_threads=True)]
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
    assert results["dies"] == {"error": DIED}
    assert results["fine"]["value"] == 20 and results["later"]["value"] == 40
    assert results["fine"]["gpu"] == results["later"]["gpu"] == "5"  # the environment the jobs ran in


def _kill_when_started(victim_pid_file: str, also_started: str, killed: str) -> None:
    """SIGKILL the worker whose pid the victim job wrote once the other job runs too; then say so in ``killed``."""
    deadline = time.monotonic() + 60
    while not (os.path.exists(victim_pid_file) and os.path.exists(also_started)) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # the pid is written
    with open(victim_pid_file) as pid:
        os.kill(int(pid.read()), signal.SIGKILL)
    open(killed, "w").close()


def test_a_worker_killed_mid_job_fails_only_its_job_and_the_others_finish(tmp_path):
    """Two jobs in flight, one worker SIGKILLed: the other job finishes (a concurrent.futures pool would fail it
    too, BrokenProcessPool), and the queued job runs in a fresh worker."""
    victim, other, killed = (str(tmp_path / name) for name in ("victim.pid", "other.pid", "killed"))
    jobs = [Job("victim", 1, touch=victim, wait_for=str(tmp_path / "never")),
            Job("other", 2, touch=other, wait_for=killed, sleep=0.5), Job("queued", 3)]
    killer = threading.Thread(target=_kill_when_started, args=(victim, other, killed))
    killer.start()
    results = run_jobs(jobs, _work, workers=2, on_crash=lambda job, message: {"error": message})
    killer.join()
    assert results["victim"] == {"error": DIED}
    assert results["other"]["value"] == 20 and results["queued"]["value"] == 30
    assert results["queued"]["pid"] != int(open(victim).read())


def test_a_worker_with_a_poisoned_cuda_context_is_replaced_on_its_gpu():
    """After a CUDA error (raised, or reported in the result) the next job on that GPU gets a fresh process;
    after an ordinary error the worker goes on."""
    jobs = [Job("a", 1), Job("raises-cuda", raises=ILLEGAL_ACCESS), Job("b", 2), Job("raises-other", raises="bad value"),
            Job("c", 3), Job("reports-cuda", error=ILLEGAL_ACCESS), Job("d", 4)]
    results = run_jobs(jobs, _work, workers=1, gpus=["5"], on_crash=lambda job, message: {"error": message},
                       poisons_worker=lambda result: cuda_context_lost(result["error"]))
    assert results["raises-cuda"] == {"error": f"RuntimeError: {ILLEGAL_ACCESS}"}
    assert results["raises-other"] == {"error": "RuntimeError: bad value"}
    pid = {name: results[name]["pid"] for name in "abcd"}
    assert pid["a"] != pid["b"] == pid["c"] != pid["d"] and results["reports-cuda"]["pid"] == pid["c"]
    assert {results[name]["gpu"] for name in "abcd"} == {"5"}  # the GPU went to the replacement


def test_gpu_workers_map_through_the_visible_list():
    # SLURM hands out e.g. GPUs 4-7: worker i must get the i-th of those, not GPU i.
    assert worker_gpus(4, "4,5,6,7") == ["4", "5", "6", "7"]
    assert worker_gpus(2, "GPU-8a1f, GPU-77c0,GPU-1b2e") == ["GPU-8a1f", "GPU-77c0"]
    assert worker_gpus(2, None) == ["0", "1"]


def test_default_cpu_workers_scale_with_cores():
    assert [default_cpu_workers(c) for c in (1, 2, 4, 16, 64)] == [1, 1, 1, 4, 16]

