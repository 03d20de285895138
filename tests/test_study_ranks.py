"""A study under several ranks plans from rank 0's measurements: every rank computes a stage (DDP needs them all),
but what it measures is its own, and ranks whose plans differ by a step wait for each other forever (seen: the
two-rank quality study hung when its ranks calibrated 0.059 and 0.061 s/step and planned 48 and 47 steps).

Two real gloo ranks (spawned processes) run ``stage`` with a rank-dependent result, as a timing is."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, work: str, results) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                      NODE_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    try:
        from composer.utils import dist

        from mosaicbert.study.stages import stage

        dist.initialize_dist("cpu", timeout=120)
        measured = stage(Path(work) / "pretrain.json", lambda: {"wall_s": 10.0 + rank, "rank": rank})
        again = stage(Path(work) / "pretrain.json", lambda: {"wall_s": -1.0})  # done: read back, not computed
        results.put((rank, measured, again))
    except Exception as error:  # noqa: BLE001 - reported to the test
        results.put((rank, f"{type(error).__name__}: {error}", None))


def test_every_rank_goes_on_with_rank_zeros_measurement(tmp_path):
    context = multiprocessing.get_context("spawn")
    results, port, world = context.Queue(), _free_port(), 2
    processes = [context.Process(target=_rank, args=(rank, world, port, str(tmp_path), results))
                 for rank in range(world)]
    try:
        for process in processes:
            process.start()
        outcomes = dict((rank, (measured, again)) for rank, measured, again in
                        (results.get(timeout=300) for _ in processes))
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    rank_zero = {"wall_s": 10.0, "rank": 0}
    assert outcomes == {0: (rank_zero, rank_zero), 1: (rank_zero, rank_zero)}, outcomes
    assert json.loads((tmp_path / "pretrain.json").read_text()) == rank_zero
