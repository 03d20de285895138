"""Warmup-stable-decay (WSD): the learning-rate schedule of runs trained in phases (ModernBERT's recipe).

The multiplier of the optimizer's lr at time ``t`` of a run of length ``T``:

- warmup ``t < t_warmup``: ``t / t_warmup`` (from 0, as Composer's own warmups);
- stable ``t_warmup <= t < T - t_decay``: ``1``;
- decay ``T - t_decay <= t``: ``1 - (1 - alpha_f) * shape(p)`` with ``p = (t - (T - t_decay)) / t_decay``,
  ``shape(p) = p`` (``linear``) or ``sqrt(p)`` (``1-sqrt``), so ``alpha_f`` at the end.

A pure function of ``state.timestamp`` and ``state.max_duration`` (no state of its own): exact after a resume,
and a new phase (``reset_time``) starts it over. ``t_decay: 0dur`` gives warmup then constant (a phase that does
not decay); ``t_warmup: 0dur`` starts stable (a decay phase).
"""

from __future__ import annotations

import math
from typing import Callable, Union

from composer.core import State, Time, TimeUnit
from composer.optim import ComposerScheduler
from composer.optim.scheduler import _convert_time  # Composer's own dur -> max_duration-unit conversion

from mosaicbert.did_you_mean import did_you_mean

# decay_shape -> fraction of the way from 1 down to alpha_f at decay progress p in [0, 1]
DECAY_SHAPES: dict[str, Callable[[float], float]] = {
    "linear": lambda p: p,
    "1-sqrt": math.sqrt,
}


class WarmupStableDecayScheduler(ComposerScheduler):
    """Linear warmup over ``t_warmup``, constant, then ``decay_shape`` to ``alpha_f`` over the last ``t_decay``.

    Args:
        t_warmup: warmup length (``ba``, ``sp``, ``tok``, ``ep`` or ``dur``, a fraction of ``max_duration``).
        t_decay: length of the final decay (``dur`` or ``max_duration``'s unit: it ends at ``max_duration``).
        decay_shape: ``linear`` or ``1-sqrt``.
        alpha_f: the multiplier at the end of the run.
    """

    def __init__(self, t_warmup: Union[str, Time] = "0dur", t_decay: Union[str, Time] = "0.1dur",
                 decay_shape: str = "linear", alpha_f: float = 0.0):
        if decay_shape not in DECAY_SHAPES:
            raise ValueError(f"unknown decay_shape {decay_shape!r}{did_you_mean(decay_shape, DECAY_SHAPES)}; "
                             f"choose from: {', '.join(DECAY_SHAPES)}")
        self.t_warmup = Time.from_input(t_warmup, TimeUnit.DURATION)
        self.t_decay = Time.from_input(t_decay, TimeUnit.DURATION)
        for name, value in (("t_warmup", self.t_warmup), ("t_decay", self.t_decay)):
            if value.unit == TimeUnit.SECOND or value.value < 0:
                raise ValueError(f"'{name}' must be a non-negative training time (dur, ep, ba, sp, tok), got {value}")
        self.decay_shape = decay_shape
        self.alpha_f = alpha_f

    def __call__(self, state: State, ssr: float = 1.0) -> float:
        assert state.max_duration is not None, "max_duration is set before the schedule runs"
        end = _convert_time(state.max_duration, state, ssr)
        warmup = _convert_time(self.t_warmup, state, ssr)
        decay = _convert_time(self.t_decay, state, ssr)
        if decay.unit != end.unit:
            raise ValueError(f"t_decay ({self.t_decay}) must be in 'dur' or max_duration's unit "
                             f"({state.max_duration}): the decay ends at max_duration")
        now_warmup = state.timestamp.get(warmup.unit).value
        if now_warmup < warmup.value:
            return now_warmup / warmup.value
        now, decay_start = state.timestamp.get(end.unit).value, end.value - decay.value
        if now < decay_start or decay.value == 0:
            return 1.0
        progress = min((now - decay_start) / decay.value, 1.0)
        return 1.0 - (1.0 - self.alpha_f) * DECAY_SHAPES[self.decay_shape](progress)
