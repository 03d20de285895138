"""Equal wall-clock budgets on a shared machine: interleaved calibration -> steps per budget; FLOPs of a run.

Wall time measured run after run on a busy machine drifts with the load. Calibration instead builds
every arm's real ``Trainer`` (``training.build_trainer``) and trains them in turns, a few steps each,
for several rounds, so every arm sees the same load; each arm's seconds per step (median, first round
dropped as warm-up) turns a budget in seconds into its own number of steps. Each budget is then a
separate run whose linear decay ends at its own end. The measured wall time of each run is reported too.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from composer import Callback, State
from composer.loggers import Logger

from mosaicbert.algorithms.masking_schedule import MaskingRateScheduler
from mosaicbert.architecture.padding import DOCUMENT_IDS
from mosaicbert.models.flops import step_flops
from mosaicbert.training.pretrain import build_trainer
from mosaicbert.training.schema import PretrainConfig


class StepTimer(Callback):
    """Seconds between consecutive ends of training batches (data loading included) within one ``fit``."""

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self.last: float | None = None

    def fit_start(self, state: State, logger: Logger) -> None:
        self.last = None  # the first batch of a fit call carries the loader's start-up: not a step

    def batch_end(self, state: State, logger: Logger) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.intervals.append(now - self.last)
        self.last = now


class FlopCounter(Callback):
    """Model FLOPs of the training steps actually run (``models.flops`` per batch, at the batch's masking rate; on
    every slot and decoding every token for the families that do, as their ``FlopShape`` says)."""

    def __init__(self, network_config: Any, masker: Any) -> None:
        self.config, self.masker = network_config, masker
        self.total = 0.0

    def batch_end(self, state: State, logger: Logger) -> None:
        mask = state.batch["attention_mask"]
        self.total += step_flops(self.config, mask, self.masker.rate * float(mask.sum()),
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


def calibrate(configs: dict[str, PretrainConfig], rounds: int, steps: int, echo=print) -> dict[str, dict]:
    """Train every arm ``steps`` steps per round, in turns, ``rounds`` times, at its run-average masking rate;
    return seconds/step per arm."""
    trainers, timers, rates = {}, {}, {}
    try:
        for arm, cfg in configs.items():
            trainers[arm] = build_trainer(cfg)
            rates[arm] = pin_run_average_masking_rate(trainers[arm])
            timers[arm] = StepTimer()
            trainers[arm].state.callbacks.append(timers[arm])
        per_round: dict[str, list[list[float]]] = {arm: [] for arm in configs}
        for round_index in range(rounds):
            for arm, trainer in trainers.items():
                before = len(timers[arm].intervals)
                trainer.fit(duration=f"{steps}ba")
                per_round[arm].append(timers[arm].intervals[before:])
            echo(f"  calibration round {round_index + 1}/{rounds}: " + ", ".join(
                f"{arm} {statistics.median(r[-1]):.3f} s/step" for arm, r in per_round.items()))
    finally:
        for trainer in trainers.values():
            trainer.close()
    result = {}
    for arm, measured in per_round.items():
        kept = [x for r in (measured[1:] if rounds > 1 else measured) for x in r]
        result[arm] = {"seconds_per_step": statistics.median(kept), "samples": len(kept), "masking_rate": rates[arm],
                       "per_round_median": [statistics.median(r) for r in measured]}
    return result


def steps_for_budget(seconds: float, seconds_per_step: float) -> int:
    """Training steps that fill ``seconds`` at the calibrated speed (at least one)."""
    return max(1, round(seconds / seconds_per_step))
