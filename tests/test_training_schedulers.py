"""warmup_stable_decay against its formula at every boundary, for both decay shapes and tok / ba / dur units."""

from __future__ import annotations

import math

import pytest
import torch
from composer.core import State, Timestamp
from composer.devices import DeviceCPU

from mosaicbert.config.components import build_scheduler
from mosaicbert.config.loading import ConfigError

ALPHA_F = 0.02


def state_at(max_duration: str, **now: int) -> State:
    state = State(model=torch.nn.Linear(1, 1), rank_zero_seed=0, run_name="wsd", device=DeviceCPU(),
                  max_duration=max_duration)
    state.timestamp = Timestamp(**now)
    return state


def expected(shape: str, progress: float) -> float:
    """The decay part of the formula (written out once more, independently of the scheduler)."""
    drop = progress if shape == "linear" else math.sqrt(progress)
    return 1.0 - (1.0 - ALPHA_F) * drop


# (max_duration, t_warmup, t_decay, the timestamp unit): 1,000 units, warmup 100, decay the last 300
UNITS = {
    "tok": ("1000tok", "100tok", "300tok", "token"),
    "ba": ("1000ba", "100ba", "300ba", "batch"),
    "dur": ("1000ba", "0.1dur", "0.3dur", "batch"),
}


@pytest.mark.parametrize("shape", ["linear", "1-sqrt"])
@pytest.mark.parametrize("units", list(UNITS))
def test_every_boundary_matches_the_formula(shape, units):
    max_duration, t_warmup, t_decay, unit = UNITS[units]
    schedule = build_scheduler({"name": "warmup_stable_decay", "t_warmup": t_warmup, "t_decay": t_decay,
                                "decay_shape": shape, "alpha_f": ALPHA_F})
    points = {0: 0.0, 50: 0.5, 99: 0.99, 100: 1.0, 400: 1.0, 699: 1.0, 700: expected(shape, 0.0),
              775: expected(shape, 0.25), 850: expected(shape, 0.5), 999: expected(shape, 299 / 300),
              1000: ALPHA_F}
    for now, value in points.items():
        assert schedule(state_at(max_duration, **{unit: now})) == pytest.approx(value, abs=1e-12), (now, unit)
    assert expected("1-sqrt", 0.25) == pytest.approx(0.51)  # 1-sqrt drops fast first: half the way at a quarter


def test_warmup_in_tokens_and_decay_in_batches():
    schedule = build_scheduler({"name": "warmup_stable_decay", "t_warmup": "6400tok", "t_decay": "300ba",
                                "decay_shape": "1-sqrt", "alpha_f": ALPHA_F})
    assert schedule(state_at("1000ba", batch=50, token=3200)) == pytest.approx(0.5)
    assert schedule(state_at("1000ba", batch=50, token=6400)) == 1.0
    assert schedule(state_at("1000ba", batch=925, token=10 ** 6)) == pytest.approx(expected("1-sqrt", 0.75))


def test_no_warmup_no_decay_is_constant():
    """ModernBERT's context-extension phase: constant lr (also Composer's ``constant`` in the registry)."""
    schedule = build_scheduler({"name": "warmup_stable_decay", "t_warmup": "0dur", "t_decay": "0dur"})
    assert {schedule(state_at("1000ba", batch=b)) for b in (0, 500, 999, 1000)} == {1.0}


def test_decay_in_another_unit_than_max_duration_is_refused():
    schedule = build_scheduler({"name": "warmup_stable_decay", "t_decay": "300tok"})
    with pytest.raises(ValueError, match="t_decay"):
        schedule(state_at("1000ba", batch=1))


def test_unknown_shape_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"'scheduler': unknown decay_shape 'sqrt'.*1-sqrt"):
        build_scheduler({"name": "warmup_stable_decay", "decay_shape": "sqrt"})
    with pytest.raises(ConfigError, match="t_warmup"):
        build_scheduler({"name": "warmup_stable_decay", "t_warmup": "10sec"})
