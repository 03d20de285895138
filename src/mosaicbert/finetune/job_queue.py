"""Job queue: one job per GPU when GPUs exist, else N concurrent CPU processes, with dependencies and progress.

Jobs run in spawned worker processes (``concurrent.futures.ProcessPoolExecutor``). Each worker pins
itself to one GPU (``CUDA_VISIBLE_DEVICES``: one entry of this process's own list) or, on CPU, to
``cores // workers`` torch threads. At most ``workers`` jobs are in flight, so when a worker process dies
(killed, out of memory) only the jobs it was running are lost: they are reported as failed and the queue
goes on with a fresh pool.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from tqdm.auto import tqdm


class QueueJob(Protocol):
    """What the queue needs of a job: its name, and the name of a job that must have finished (successfully
    or not) before it starts."""

    @property
    def name(self) -> str: ...

    @property
    def after(self) -> str | None: ...


Job = TypeVar("Job", bound=QueueJob)


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_cpu_workers(cores: int | None = None) -> int:
    """Concurrent CPU jobs when not configured: one per four cores (at least one)."""
    return max(1, (cores or available_cores()) // 4)


def worker_gpus(count: int, visible: str | None) -> list[str]:
    """The ``CUDA_VISIBLE_DEVICES`` value of each of ``count`` GPU workers.

    ``visible`` is this process's own ``CUDA_VISIBLE_DEVICES`` (e.g. ``4,5,6,7`` under SLURM): worker ``i``
    gets its ``i``-th entry, so the jobs stay on the GPUs this process was given. Unset: ``0 .. count-1``.
    """
    if visible is None:
        return [str(i) for i in range(count)]
    return [entry.strip() for entry in visible.split(",") if entry.strip()][:count]


def _init_worker(threads: int, gpu_ids: Any) -> None:
    """Runs once in each worker process: claim a GPU, or limit torch's CPU threads."""
    if gpu_ids is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_ids.get()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(threads)


def run_jobs(
    jobs: Sequence[Job],
    run_one: Callable[[Job], Any],
    *,
    workers: int,
    gpus: Sequence[str] = (),
    prepare: Callable[[Job, dict[str, Any]], Job] = lambda job, done: job,
    on_finish: Callable[[Job, Any], str] = lambda job, result: "",
    on_crash: Callable[[Job, str], Any] = lambda job, message: None,
    done: dict[str, Any] | None = None,
    desc: str = "jobs",
) -> dict[str, Any]:
    """Run ``run_one(prepare(job, done))`` for every job in worker processes; return results by job name.

    ``run_one`` must be picklable (a top-level function or a ``functools.partial`` of one) and report its own
    errors in its result. ``prepare`` completes a job once its dependency has finished (``done`` holds all
    results so far, including ones passed in from an earlier run). ``gpus``: one worker per entry, pinned to
    it through ``CUDA_VISIBLE_DEVICES`` (see :func:`worker_gpus`). ``on_finish`` returns a short text shown next to
    the progress bar; ``on_crash`` turns a dead worker into a failure result.
    """
    done = dict(done or {})
    pending = list(jobs)
    workers = len(gpus) if gpus else max(1, workers)
    threads = 1 if gpus else max(1, available_cores() // workers)
    context = multiprocessing.get_context("spawn")
    with tqdm(total=len(jobs), desc=desc, unit="job", dynamic_ncols=True) as bar:
        while pending:
            gpu_queue = None
            if gpus:
                gpu_queue = context.Queue()
                for gpu in gpus:
                    gpu_queue.put(gpu)
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                     initargs=(threads, gpu_queue)) as pool:
                running: dict[Future, Job] = {}
                broken = False
                while (pending and not broken) or running:
                    for job in [] if broken else _ready(pending, done, running, workers - len(running)):
                        pending.remove(job)
                        running[pool.submit(run_one, prepare(job, done))] = job
                    if not running:
                        raise RuntimeError(f"jobs wait on each other: {', '.join(j.name for j in pending)}")
                    bar.set_postfix_str(f"running: {', '.join(j.name for j in running.values())}", refresh=True)
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        job = running.pop(future)
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            broken = True
                            result = on_crash(job, "worker process died (killed or out of memory?)")
                        except Exception as err:  # noqa: BLE001 - e.g. a result that cannot be pickled
                            result = on_crash(job, f"{type(err).__name__}: {err}")
                        done[job.name] = result
                        bar.update()
                        message = on_finish(job, result)
                        if message:
                            bar.write(message)
    return done


def _ready(pending: list[Job], done: dict[str, Any], running: dict[Future, Job], free: int) -> list[Job]:
    """Up to ``free`` pending jobs whose dependency is finished (or is not part of this run at all)."""
    waiting_on = {j.name for j in pending} | {j.name for j in running.values()}
    ready = [j for j in pending if j.after is None or j.after in done or j.after not in waiting_on]
    return ready[:max(0, free)]
