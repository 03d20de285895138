"""Job queue: one job per GPU when GPUs exist, else N concurrent CPU processes, with dependencies and progress.

Each job runs in a spawned worker process of its own slot: pinned to one GPU (``CUDA_VISIBLE_DEVICES``: one
entry of this process's own list) or, on CPU, to ``cores // workers`` torch threads. Workers are watched one
by one (their result pipe and their process sentinel), not as a ``concurrent.futures`` pool, whose first dead
worker breaks the whole pool and fails every job in flight. Here a worker that dies (SIGKILL, host out of
memory, segfault) fails only the job it was running, and a worker whose job hit a CUDA error that poisons the
process's CUDA context (an illegal memory access) is retired after that job; in both cases a fresh worker takes
the slot and its GPU, and the other workers run on undisturbed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol, TypeVar

from tqdm.auto import tqdm

# Messages of CUDA errors after which a process's CUDA context is unusable: every later kernel fails too.
CUDA_CONTEXT_ERRORS = ("CUDA error", "illegal memory access", "CUBLAS_STATUS_EXECUTION_FAILED",
                       "device-side assert triggered")
DIED = "worker process died (killed or out of memory?)"


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


def cuda_context_lost(message: str | None) -> bool:
    """Whether an error message is a CUDA error that leaves the worker's CUDA context unusable."""
    return bool(message) and any(marker in message for marker in CUDA_CONTEXT_ERRORS)


def _worker_main(connection: Connection, run_one: Callable[[Any], Any], threads: int, gpu: str | None) -> None:
    """A worker process: claim its GPU or limit torch's CPU threads, then run the jobs it is sent until ``None``.

    Each reply is ``(True, result)`` or ``(False, "<error type>: <message>")`` when ``run_one`` raised.
    """
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["OMP_NUM_THREADS"] = str(threads)  # torch's thread count once a job imports it (seconds saved here)
    while (job := connection.recv()) is not None:
        try:
            reply = (True, run_one(job))
        except Exception as err:  # noqa: BLE001 - reported as this job's failure, the worker goes on
            reply = (False, f"{type(err).__name__}: {err}")
        try:
            connection.send(reply)
        except Exception as err:  # noqa: BLE001 - e.g. a result that cannot be pickled
            connection.send((False, f"{type(err).__name__}: {err}"))


@dataclass
class _Slot:
    """One worker place (a GPU, or a share of the CPU cores) and the process that holds it now."""

    gpu: str | None
    process: Any = None
    connection: Connection | None = None
    job: Any = None
    started: int = 0  # processes started for this slot so far

    def start(self, context, run_one, threads: int) -> None:
        parent, child = context.Pipe()
        # Not a daemon: a job's own DataLoader workers are child processes, which daemons may not have.
        self.process = context.Process(target=_worker_main, args=(child, run_one, threads, self.gpu),
                                       name=f"job-worker-{self.gpu or 'cpu'}-{self.started}")
        self.process.start()
        child.close()
        self.connection, self.started = parent, self.started + 1

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to exit (end it if it does not), close its pipe."""
        if self.process is None:
            return
        try:
            self.connection.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()
        self.process = self.connection = None


def run_jobs(
    jobs: Sequence[Job],
    run_one: Callable[[Job], Any],
    *,
    workers: int,
    gpus: Sequence[str] = (),
    prepare: Callable[[Job, dict[str, Any]], Job] = lambda job, done: job,
    on_finish: Callable[[Job, Any], str] = lambda job, result: "",
    on_crash: Callable[[Job, str], Any] = lambda job, message: None,
    poisons_worker: Callable[[Any], bool] = lambda result: False,
    done: dict[str, Any] | None = None,
    desc: str = "jobs",
) -> dict[str, Any]:
    """Run ``run_one(prepare(job, done))`` for every job in worker processes; return results by job name.

    ``run_one`` must be picklable (a top-level function or a ``functools.partial`` of one) and should report its
    own errors in its result. ``prepare`` completes a job once its dependency has finished (``done`` holds all
    results so far, including ones passed in from an earlier run). ``gpus``: one worker per entry, pinned to it
    through ``CUDA_VISIBLE_DEVICES`` (see :func:`worker_gpus`). ``on_finish`` returns a short text shown next to
    the progress bar; ``on_crash`` turns a dead worker or a raised error into a failure result;
    ``poisons_worker(result)`` says a result's worker must be replaced (errors that :func:`cuda_context_lost`
    recognises always do).
    """
    done = dict(done or {})
    pending = list(jobs)
    slots = [_Slot(gpu) for gpu in gpus] if gpus else [_Slot(None) for _ in range(max(1, workers))]
    threads = 1 if gpus else max(1, available_cores() // len(slots))
    context = multiprocessing.get_context("spawn")
    try:
        with tqdm(total=len(jobs), desc=desc, unit="job", dynamic_ncols=True) as bar:
            while pending or any(slot.job is not None for slot in slots):
                idle = [slot for slot in slots if slot.job is None]
                for slot, job in zip(idle, _ready(pending, done, slots, len(idle))):
                    pending.remove(job)
                    if slot.process is None or not slot.process.is_alive():
                        slot.stop()
                        slot.start(context, run_one, threads)
                    slot.job = job
                    try:
                        slot.connection.send(prepare(job, done))
                    except OSError:  # the worker died just now: its sentinel reports the job as failed
                        pass
                busy = [slot for slot in slots if slot.job is not None]
                if not busy:
                    raise RuntimeError(f"jobs wait on each other: {', '.join(j.name for j in pending)}")
                bar.set_postfix_str(f"running: {', '.join(s.job.name for s in busy)}", refresh=True)
                for slot in _finished(busy):
                    job, result = slot.job, _collect(slot, on_crash, poisons_worker)
                    slot.job = None
                    done[job.name] = result
                    bar.update()
                    message = on_finish(job, result)
                    if message:
                        bar.write(message)
    finally:
        for slot in slots:
            slot.stop()
    return done


def _finished(busy: list[_Slot]) -> list[_Slot]:
    """Block until some busy workers have replied or died; those slots."""
    ready = set(wait([s.connection for s in busy] + [s.process.sentinel for s in busy]))
    return [s for s in busy if s.connection in ready or s.process.sentinel in ready]


def _collect(slot: _Slot, on_crash: Callable[[Any, str], Any], poisons_worker: Callable[[Any], bool]) -> Any:
    """The finished job's result; a dead or poisoned worker is stopped (the next job starts a fresh one)."""
    try:
        ok, payload = slot.connection.recv()
    except (EOFError, OSError):  # the process died before it could reply
        ok, payload = False, DIED
    result = payload if ok else on_crash(slot.job, payload)
    if poisons_worker(result) if ok else (payload == DIED or cuda_context_lost(payload)):
        slot.stop()
    return result


def _ready(pending: list[Job], done: dict[str, Any], slots: list[_Slot], free: int) -> list[Job]:
    """Up to ``free`` pending jobs whose dependency is finished (or is not part of this run at all)."""
    waiting_on = {j.name for j in pending} | {s.job.name for s in slots if s.job is not None}
    ready = [j for j in pending if j.after is None or j.after in done or j.after not in waiting_on]
    return ready[:max(0, free)]
