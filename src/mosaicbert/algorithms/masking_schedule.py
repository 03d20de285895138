"""MaskingRateScheduler: the training masking rate as a function of Composer time.

Before every training batch (``Event.BEFORE_DATALOADER``, which Composer runs before fetching the batch
and so before the DataSpec's batch/microbatch transforms that apply the masker) the algorithm sets

- ``masker.rate`` to the scheduled rate, and
- ``masker.step`` to the number of batches trained so far,

and logs the rate as ``masking/rate``. Both are pure functions of ``state.timestamp``, so a resumed run
continues exactly where it stopped without any state of its own; the evaluation masker is never touched.

The rate moves from ``start`` to ``end`` over the window ``[t_start, t_end]`` (Composer times such as
``0dur``, ``1dur``, ``5000ba``, ``1000000sp``, ``2ep``), is ``start`` before and ``end`` after it:

- ``constant``: always ``start``;
- ``linear``: straight line (the "Dynamic Masking Rate Schedules" recipe: 0.30 -> 0.15 over ``1dur``);
- ``cosine``: half cosine, flat at both ends;
- ``step``: ``num_steps`` equal jumps, at the end of each of ``num_steps`` equal parts of the window.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Protocol, Union

from composer.core import Algorithm, Event, State, Time, TimeUnit
from composer.loggers import Logger
from composer.optim.scheduler import _convert_time  # Composer's own dur/ep -> concrete-unit conversion

from mosaicbert.did_you_mean import did_you_mean


class Masker(Protocol):
    """What the scheduler drives: the training MLM masker (``mosaicbert.data.masking.MLMMasker``)."""

    rate: float
    step: int


def _constant(progress: float, num_steps: int) -> float:
    return 0.0


def _linear(progress: float, num_steps: int) -> float:
    return progress


def _cosine(progress: float, num_steps: int) -> float:
    return (1.0 - math.cos(math.pi * progress)) / 2.0


def _step(progress: float, num_steps: int) -> float:
    return math.floor(progress * num_steps) / num_steps


# schedule name -> fraction of the way from ``start`` to ``end`` at window progress p in [0, 1]
SCHEDULE_SHAPES: dict[str, Callable[[float, int], float]] = {
    "constant": _constant,
    "linear": _linear,
    "cosine": _cosine,
    "step": _step,
}


class MaskingRateScheduler(Algorithm):
    """Schedule ``masker.rate`` from ``start`` to ``end`` over ``[t_start, t_end]``; set ``masker.step``.

    Args:
        masker: the training masker (has settable ``rate`` and ``step``).
        schedule: one of ``constant``, ``linear``, ``cosine``, ``step``.
        start: rate at and before ``t_start`` (default: the masker's current rate).
        end: rate at and after ``t_end`` (required unless ``schedule`` is ``constant``).
        t_start, t_end: the window, in any Composer time unit (``dur`` is a fraction of ``max_duration``).
        num_steps: number of jumps of the ``step`` schedule.
    """

    def __init__(self, masker: Masker, schedule: str = "linear", start: Optional[float] = None,
                 end: Optional[float] = None, t_start: Union[str, Time] = "0dur", t_end: Union[str, Time] = "1dur",
                 num_steps: int = 1):
        if schedule not in SCHEDULE_SHAPES:
            raise ValueError(f"unknown masking schedule {schedule!r}{did_you_mean(schedule, SCHEDULE_SHAPES)}; "
                             f"choose from {', '.join(SCHEDULE_SHAPES)}")
        start = float(masker.rate) if start is None else float(start)
        if end is None:
            if schedule != "constant":
                raise ValueError(f"the {schedule!r} masking schedule needs an end rate ('end')")
            end = start
        for name, rate in (("start", start), ("end", end)):
            if not 0.0 < rate < 1.0:
                raise ValueError(f"masking rate '{name}' must be between 0 and 1 (exclusive), got {rate}")
        if num_steps < 1:
            raise ValueError(f"'num_steps' must be at least 1, got {num_steps}")
        self.t_start = Time.from_input(t_start, TimeUnit.DURATION)
        self.t_end = Time.from_input(t_end, TimeUnit.DURATION)
        for name, value in (("t_start", self.t_start), ("t_end", self.t_end)):
            if value.unit == TimeUnit.SECOND:
                raise ValueError(f"'{name}' must be in training time (dur, ep, ba, sp, tok), not seconds")
        if self.t_start.unit == self.t_end.unit and self.t_end < self.t_start:
            raise ValueError(f"'t_end' ({self.t_end}) is before 't_start' ({self.t_start})")
        self.masker = masker
        self.schedule = schedule
        self.start = start
        self.end = end
        self.num_steps = num_steps

    def match(self, event: Event, state: State) -> bool:
        return event in (Event.FIT_START, Event.BEFORE_DATALOADER)

    def apply(self, event: Event, state: State, logger: Logger) -> None:
        rate = self.rate_at(state)  # also checks, at FIT_START, that the window is well defined
        if event == Event.BEFORE_DATALOADER:
            self.masker.rate = rate
            self.masker.step = int(state.timestamp.batch)
            logger.log_metrics({"masking/rate": rate})

    def rate_at(self, state: State) -> float:
        """The scheduled rate for the batch about to be trained at ``state.timestamp``."""
        begin, finish = _convert_time(self.t_start, state), _convert_time(self.t_end, state)
        if begin.unit != finish.unit:
            raise ValueError(f"masking schedule window [{self.t_start}, {self.t_end}] mixes units that cannot be "
                             f"compared with max_duration {state.max_duration}; give both ends in the same unit")
        return self._rate(state.timestamp.get(begin.unit).value, begin.value, finish.value)

    def _rate(self, now: float, begin: float, finish: float) -> float:
        length = finish - begin
        if length <= 0:
            progress = 1.0 if now >= finish else 0.0
        else:
            progress = min(max((now - begin) / length, 0.0), 1.0)
        return self.start + (self.end - self.start) * SCHEDULE_SHAPES[self.schedule](progress, self.num_steps)

    def average_rate(self, points: int = 1000) -> float:
        """The rate averaged over a whole run (midpoint rule), e.g. to time a training step at its typical cost.
        Needs a window in ``dur`` (a fraction of the run), the only unit that does not depend on the run's length."""
        if TimeUnit.DURATION not in (self.t_start.unit, self.t_end.unit) or self.t_start.unit != self.t_end.unit:
            raise ValueError(f"the run-average masking rate needs a window in 'dur', got [{self.t_start}, {self.t_end}]")
        return sum(self._rate((i + 0.5) / points, self.t_start.value, self.t_end.value)
                   for i in range(points)) / points
