"""Equal wall-clock budgets on a shared machine: interleaved calibration -> steps per budget; FLOPs of a run.

Wall time measured run after run on a busy machine drifts with the load. Calibration instead trains the
arms in turns, a few steps each, for several rounds, so every arm sees the same load. Each turn is a real
run's conditions: the arm's own ``Trainer`` (``training.build_trainer``: its loader and workers) built in
this process, alone in memory (closed and released after its turn), its loader's start-up timed apart.
An arm's seconds per step is the mean over its steps (first round dropped as warm-up; a run pays its slow
steps too), so a budget in seconds becomes ``(budget - start-up) / seconds per step`` steps. Each budget
is then a separate run whose linear decay ends at its own end; its measured time is checked against its
budget (:func:`budget_check`) and a miss re-plans the arm's later budgets from the measured speed.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any, Callable

import torch
from composer import Callback, State
from composer.loggers import Logger

from mosaicbert.algorithms.masking_schedule import MaskingRateScheduler
from mosaicbert.architecture.padding import DOCUMENT_IDS
from mosaicbert.models.flops import step_flops
from mosaicbert.models.registry import family_of_model_type
from mosaicbert.ranks import rank_zero_value
from mosaicbert.training.pretrain import build_trainer
from mosaicbert.training.schema import PretrainConfig

from .expected_warnings import expected_warnings_silenced

BUDGET_TOLERANCE = 0.10  # a run whose measured time is off its budget by more is flagged and re-planned


class StepTimer(Callback):
    """Seconds between consecutive ends of training batches (data loading included) within one ``fit``, and the
    start-up: from the start of ``fit`` to the end of its first batch (loader workers, first fetch)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.intervals: list[float] = []
        self.startups: list[float] = []
        self.last: float | None = None
        self.started: float | None = None

    def fit_start(self, state: State, logger: Logger) -> None:
        self.last, self.started = None, self.clock()

    def batch_end(self, state: State, logger: Logger) -> None:
        now = self.clock()
        if self.last is None:  # the first batch of a fit call carries the loader's start-up: not a step
            self.startups.append(now - self.started)
        else:
            self.intervals.append(now - self.last)
        self.last = now


class FlopCounter(Callback):
    """Model FLOPs of the training steps actually run (``models.flops`` per batch, at the batch's masking rate; on
    every slot and decoding every token for the families that do, as their ``FlopShape`` says)."""

    def __init__(self, network_config: Any, masker: Any) -> None:
        self.shape = family_of_model_type(network_config.model_type).flop_shape(network_config)
        self.masker = masker
        self.total = 0.0

    def batch_end(self, state: State, logger: Logger) -> None:
        mask = state.batch["attention_mask"]
        self.total += step_flops(self.shape, mask, self.masker.rate * float(mask.sum()),
                                 document_ids=state.batch.get(DOCUMENT_IDS))[0]


def masking_scheduler(trainer) -> MaskingRateScheduler:
    """The always-present MaskingRateScheduler (it holds the training masker)."""
    return next(a for a in trainer.state.algorithms if isinstance(a, MaskingRateScheduler))


def training_masker(trainer) -> Any:
    return masking_scheduler(trainer).masker


def pin_run_average_masking_rate(trainer) -> float:
    """Hold the masking rate at its run average. Calibration trains a few steps per ``fit`` call and each call moves
    ``max_duration`` to its own end, so a 30% -> 15% schedule would be timed near 15%; the masked-token decoder's
    cost follows the rate, so such an arm would be given more steps than its budget pays for."""
    scheduler = masking_scheduler(trainer)
    scheduler.start = scheduler.end = scheduler.average_rate()
    return scheduler.start


def release(trainer) -> None:
    """Close a trainer and give its memory back before the next one is built (host and GPU)."""
    trainer.close()
    del trainer
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def calibrate(configs: dict[str, PretrainConfig], rounds: int, steps: int, echo=print) -> dict[str, dict]:
    """Train every arm ``steps`` steps per round, in turns, ``rounds`` times, at its run-average masking rate,
    one trainer in memory at a time; return seconds/step and start-up seconds per arm."""
    timers = {arm: StepTimer() for arm in configs}
    rates: dict[str, float] = {}
    per_round: dict[str, list[list[float]]] = {arm: [] for arm in configs}
    for round_index in range(rounds):
        for arm, cfg in configs.items():
            with expected_warnings_silenced():
                trainer = build_trainer(cfg)
                try:
                    rates[arm] = pin_run_average_masking_rate(trainer)
                    trainer.state.callbacks.append(timers[arm])
                    before = len(timers[arm].intervals)
                    trainer.fit(duration=f"{steps}ba")
                    per_round[arm].append(timers[arm].intervals[before:])
                finally:
                    release(trainer)
        echo(f"  calibration round {round_index + 1}/{rounds}: " + ", ".join(
            f"{arm} {statistics.fmean(r[-1]):.3f} s/step" for arm, r in per_round.items()))
    result = {}
    for arm, measured in per_round.items():
        kept = [x for r in (measured[1:] if rounds > 1 else measured) for x in r]
        startups = timers[arm].startups[1:] if rounds > 1 else timers[arm].startups
        result[arm] = {"seconds_per_step": statistics.fmean(kept), "samples": len(kept), "masking_rate": rates[arm],
                       "startup_s": statistics.median(startups),
                       "per_round_mean": [statistics.fmean(r) for r in measured]}
    return result


def calibrated(path, arms: list[str], config_of: Callable[[str], PretrainConfig], rounds: int, steps: int,
               save: Callable[[Any, dict], None], echo=print) -> dict[str, dict]:
    """Every arm's calibration from ``path``; the arms missing there are calibrated together (interleaved, as
    :func:`calibrate`) and saved with ``save(path, all)``: an arm added later is measured with the other new ones.
    Under several ranks each rank calibrates, and all go on with rank 0's figures (one plan for every rank)."""
    import json

    saved = json.loads(path.read_text()) if path.is_file() else {}
    missing = [a for a in arms if a not in saved]
    if missing:
        echo(f"calibrating {', '.join(missing)}: {rounds} interleaved rounds of {steps} steps each ...")
        saved.update(rank_zero_value(calibrate({a: config_of(a) for a in missing}, rounds, steps, echo)))
        save(path, saved)
    return {a: saved[a] for a in arms}


def timed_run(cfg: PretrainConfig, name: str, steps: int, clock: Callable[[], float] = time.perf_counter) -> dict:
    """Pretrain one study run of ``steps`` steps: its measured wall time (``fit`` alone), model FLOPs, final loss."""
    with expected_warnings_silenced():
        trainer = build_trainer(cfg)
        model = getattr(trainer.state.model, "module", trainer.state.model)  # DDP wraps it on N ranks
        counter = FlopCounter(model.model.config, training_masker(trainer))
        trainer.state.callbacks.append(counter)
        t0 = clock()
        trainer.fit()
        wall = clock() - t0
        batches = int(trainer.state.timestamp.batch)
        loss = float(trainer.state.loss) if trainer.state.loss is not None else None
        release(trainer)
    if batches != steps:
        raise RuntimeError(f"{name}: trained {batches} steps, expected {steps}")
    return {"wall_s": wall, "flops": counter.total, "steps": batches, "final_train_loss": loss}


def steps_for_budget(seconds: float, seconds_per_step: float, startup_s: float = 0.0) -> int:
    """Training steps that fill ``seconds`` after the start-up at the calibrated speed (at least one)."""
    return max(1, round((seconds - startup_s) / seconds_per_step))


def budget_check(wall_s: float, budget_s: float, tolerance: float = BUDGET_TOLERANCE) -> dict[str, Any]:
    """A run's measured time against its budget: the ratio, and whether it misses by more than ``tolerance``."""
    ratio = wall_s / budget_s
    return {"measured_over_budget": ratio, "missed": abs(ratio - 1.0) > tolerance}


def replanned_steps(budget_s: float, planned: int, calibration: dict, earlier_runs: list[dict]) -> dict[str, Any]:
    """Steps for ``budget_s``: the calibrated plan, or, once a run of this arm missed its budget, that run's
    measured seconds per step (the latest such run)."""
    missed = [r for r in earlier_runs if r["budget"]["missed"]]
    if not missed:
        return {"steps": planned, "seconds_per_step": calibration["seconds_per_step"], "replanned_from": None}
    run = missed[-1]
    startup = calibration.get("startup_s", 0.0)
    measured = max(run["pretrain"]["wall_s"] - startup, 1e-9) / run["pretrain"]["steps"]
    return {"steps": steps_for_budget(budget_s, measured, startup), "seconds_per_step": measured,
            "replanned_from": run["budget_s"]}
