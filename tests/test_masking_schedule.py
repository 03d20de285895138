"""MaskingRateScheduler against a real Composer State, Engine and Logger (events dispatched by Composer)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from composer.core import Engine, Event, State, Time, Timestamp
from composer.devices import DeviceCPU
from composer.loggers import InMemoryLogger, Logger
from composer.models import ComposerClassifier

from mosaicbert.algorithms.masking_schedule import MaskingRateScheduler
from mosaicbert.config.components import build_algorithms
from mosaicbert.config.loading import ConfigError


@dataclass
class RecordingMasker:
    """Stands in for the data masker where only the two attributes the scheduler drives matter."""

    rate: float = 0.30
    step: int = -1


def make_state(max_duration: str, dataloader_len: int = 50, samples_per_batch: int = 8,
               tokens_per_batch: int = 1000) -> State:
    model = ComposerClassifier(torch.nn.Linear(4, 2), num_classes=2)
    loader = torch.utils.data.DataLoader(list(range(dataloader_len * samples_per_batch)), batch_size=samples_per_batch)
    state = State(model=model, rank_zero_seed=17, run_name="masking-schedule-test", device=DeviceCPU(),
                  max_duration=max_duration, dataloader=loader, dataloader_label="train")
    state.tokens_per_batch = tokens_per_batch  # only used by the helper below
    return state


def at_batch(state: State, batch: int) -> State:
    """Put ``state`` at the start of training batch ``batch`` (``batch`` batches completed)."""
    samples = batch * 8
    state.timestamp = Timestamp(epoch=batch // 50, batch=batch, sample=samples, token=batch * state.tokens_per_batch,
                                batch_in_epoch=batch % 50, sample_in_epoch=samples % 400)
    return state


def run_before_dataloader(algorithm: MaskingRateScheduler, state: State, batch: int) -> InMemoryLogger:
    """Dispatch Event.BEFORE_DATALOADER through a real Composer Engine at ``batch``; return the logger."""
    destination = InMemoryLogger()
    state.algorithms = [algorithm]
    state.callbacks = [destination]
    engine = Engine(state, Logger(state, [destination]))
    engine.run_event(Event.INIT)
    at_batch(state, batch)
    engine.run_event(Event.BEFORE_DATALOADER)
    engine.close()
    return destination


def test_linear_schedule_over_the_run_sets_rate_and_step_and_logs_it():
    state = make_state("100ba")
    masker = RecordingMasker(rate=0.30)
    algorithm = MaskingRateScheduler(masker, schedule="linear", end=0.15)
    for batch, expected in [(0, 0.30), (20, 0.27), (50, 0.225), (99, 0.1515), (100, 0.15)]:
        logged = run_before_dataloader(algorithm, state, batch)
        assert masker.rate == pytest.approx(expected)
        assert masker.step == batch
        assert logged.most_recent_values["masking/rate"] == pytest.approx(expected)
        assert int(logged.most_recent_timestamps["masking/rate"].batch) == batch


def test_cosine_schedule_is_flat_at_both_ends_and_halfway_in_the_middle():
    state = make_state("1000ba")
    masker = RecordingMasker()
    algorithm = MaskingRateScheduler(masker, schedule="cosine", start=0.40, end=0.20)
    rates = {b: algorithm.rate_at(at_batch(state, b)) for b in (0, 10, 500, 990, 1000)}
    assert rates[0] == pytest.approx(0.40) and rates[1000] == pytest.approx(0.20)
    assert rates[500] == pytest.approx(0.30)
    assert 0.40 - rates[10] == pytest.approx(0.20 * (1 - math.cos(math.pi * 0.01)) / 2)
    assert rates[10] - 0.40 > -1e-3 and rates[990] - 0.20 < 1e-3  # flat near the ends


def test_step_schedule_in_a_batch_window():
    state = make_state("100ba")
    masker = RecordingMasker()
    algorithm = MaskingRateScheduler(masker, schedule="step", start=0.30, end=0.15, t_start="10ba",
                                     t_end="40ba", num_steps=3)
    expected = {0: 0.30, 9: 0.30, 10: 0.30, 19: 0.30, 20: 0.25, 29: 0.25, 30: 0.20, 39: 0.20, 40: 0.15, 99: 0.15}
    for batch, rate in expected.items():
        assert algorithm.rate_at(at_batch(state, batch)) == pytest.approx(rate), batch


@pytest.mark.parametrize("max_duration, window, batch, expected", [
    ("800sp", ("0dur", "0.5dur"), 25, 0.225),        # 200 of 400 samples into the window
    ("800sp", ("200sp", "600sp"), 50, 0.225),          # explicit samples
    ("100000tok", ("0tok", "50000tok"), 25, 0.225),    # tokens (1000 per batch)
    ("2ep", ("1ep", "2ep"), 75, 0.225),                # epochs convert to batches via the dataloader length
    ("100ba", ("0.5dur", "1dur"), 40, 0.30),           # before the window: start rate
])
def test_window_in_any_composer_unit(max_duration, window, batch, expected):
    state = make_state(max_duration)
    algorithm = MaskingRateScheduler(RecordingMasker(), schedule="linear", start=0.30, end=0.15,
                                     t_start=window[0], t_end=window[1])
    assert algorithm.rate_at(at_batch(state, batch)) == pytest.approx(expected)


def test_constant_schedule_keeps_the_masker_rate_and_still_advances_the_step():
    state = make_state("100ba")
    masker = RecordingMasker(rate=0.30)
    algorithm = MaskingRateScheduler(masker, schedule="constant")
    run_before_dataloader(algorithm, state, 37)
    assert (masker.rate, masker.step) == (pytest.approx(0.30), 37)


def test_rate_is_a_pure_function_of_time_so_a_new_instance_resumes_exactly():
    """After a resume only state.timestamp is restored: a fresh scheduler must give the same rates."""
    state = make_state("200ba")
    first = MaskingRateScheduler(RecordingMasker(), schedule="cosine", start=0.30, end=0.15)
    trajectory = [first.rate_at(at_batch(state, b)) for b in range(200)]
    resumed_masker = RecordingMasker(rate=0.30)
    resumed = MaskingRateScheduler(resumed_masker, schedule="cosine", start=0.30, end=0.15)
    for batch in range(120, 200):
        run_before_dataloader(resumed, state, batch)
        assert resumed_masker.rate == trajectory[batch]


def test_average_rate_is_the_mean_of_the_rates_a_run_trains_at():
    state = make_state("1000ba")
    for kwargs, expected in (({"schedule": "linear", "end": 0.15}, 0.225),
                             ({"schedule": "linear", "end": 0.15, "t_end": "0.5dur"}, 0.1875),
                             ({"schedule": "constant"}, 0.30)):
        algorithm = MaskingRateScheduler(RecordingMasker(rate=0.30), **kwargs)
        per_batch = sum(algorithm.rate_at(at_batch(state, b)) for b in range(1000)) / 1000
        assert algorithm.average_rate() == pytest.approx(expected, abs=1e-6)
        assert per_batch == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError, match="needs a window in 'dur'"):
        MaskingRateScheduler(RecordingMasker(), schedule="linear", end=0.15, t_end="500ba").average_rate()


def test_window_units_that_cannot_be_compared_fail_at_fit_start():
    state = make_state("800sp")
    algorithm = MaskingRateScheduler(RecordingMasker(), schedule="linear", end=0.15, t_start="10ba",
                                     t_end="0.5dur")
    state.algorithms = [algorithm]
    engine = Engine(state, Logger(state, []))
    with pytest.raises(ValueError, match="same unit"):
        engine.run_event(Event.FIT_START)
    engine.close()


@pytest.mark.parametrize("kwargs, message", [
    ({"schedule": "linaer", "end": 0.15}, "did you mean 'linear'"),
    ({"schedule": "linear"}, "needs an end rate"),
    ({"schedule": "linear", "end": 1.5}, "'end' must be between 0 and 1"),
    ({"schedule": "step", "end": 0.15, "num_steps": 0}, "num_steps"),
    ({"schedule": "linear", "end": 0.15, "t_start": "50ba", "t_end": "10ba"}, "before 't_start'"),
    ({"schedule": "linear", "end": 0.15, "t_end": "30sec"}, "not seconds"),
])
def test_bad_arguments_are_one_line_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message) as err:
        build_algorithms({"masking_rate_schedule": kwargs}, masker=RecordingMasker())
    assert "algorithms.masking_rate_schedule" in str(err.value) and "\n" not in str(err.value)


def test_registry_builds_the_scheduler_with_the_injected_masker():
    masker = RecordingMasker(rate=0.25)
    [algorithm] = build_algorithms({"masking_rate_schedule": {"schedule": "linear", "end": "0.1", "t_end": "0.8dur"}},
                                   masker=masker)
    assert algorithm.masker is masker and algorithm.start == 0.25 and algorithm.end == 0.1
    assert algorithm.t_end == Time.from_timestring("0.8dur")


def test_scheduler_drives_the_real_masker_on_real_text(tokenizer, news_articles):
    """Real MLMMasker on real news: the masked fraction follows the schedule, masks change with the batch
    count and are reproduced exactly at the same count (resume); the evaluation masker is left alone."""
    from mosaicbert.data.masking import IGNORE_INDEX, MLMMasker

    encoded = tokenizer(news_articles[:32], max_length=128, truncation=True, padding="max_length",
                        return_tensors="pt")
    batch = {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids")}
    eligible = batch["attention_mask"].bool() & ~torch.isin(batch["input_ids"],
                                                              torch.tensor(tokenizer.all_special_ids))
    train_masker = MLMMasker(tokenizer, 0.30, seed=17, dynamic=False)
    eval_masker = MLMMasker(tokenizer, 0.15, seed=17, dynamic=False)
    algorithm = MaskingRateScheduler(train_masker, schedule="linear", end=0.15)
    state = make_state("100ba")

    def masked_at(batch_count: int) -> torch.Tensor:
        run_before_dataloader(algorithm, state, batch_count)
        return train_masker(batch)["labels"] != IGNORE_INDEX

    def fraction(selected: torch.Tensor) -> float:
        return float(selected.sum()) / float(eligible.sum())

    first, second, last = masked_at(0), masked_at(1), masked_at(100)
    assert fraction(first) == pytest.approx(0.30, abs=0.02) and fraction(last) == pytest.approx(0.15, abs=0.02)
    assert not (first & ~eligible).any()
    assert (first != second).any()  # a new batch count draws new masks
    assert torch.equal(masked_at(0), first)  # the same count (e.g. after a resume) draws the same masks
    assert (eval_masker.rate, eval_masker.step) == (0.15, 0)
