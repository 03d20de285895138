"""Batch-size warmup on the real news corpus: the trained batch follows the ramp, the clock counts the samples drawn
and the tokens trained, and a run killed mid-ramp resumes bit-identical."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from composer.core import Callback, State
from composer.loggers import Logger
from test_main_e2e import REPO, TINY, run_args, subprocess_env, weights
from test_training_schedulers import state_at

from mosaicbert.algorithms import batch_size_warmup
from mosaicbert.algorithms.batch_size_warmup import BatchSizeWarmup
from mosaicbert.config.components import build_algorithms
from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.data.loaders import count_real_tokens
from mosaicbert.training.cli import pretrain_cli
from mosaicbert.training.pretrain import build_trainer
from mosaicbert.training.schema import PretrainConfig

STEPS, BATCH, START = 10, 16, 4
RAMP_TOKENS = 4000  # about 7 batches of the ramp: the checkpoint at batch 5 is mid-ramp
WARMUP = f"algorithms.batch_size_warmup={{start_batch_size: {START}, t_warmup: {RAMP_TOKENS}tok}}"


class TrainedBatches(Callback):
    """Records what each step trains on and the clock after it."""

    def __init__(self):
        self.sizes, self.tokens, self.clock = [], [], []

    def batch_start(self, state: State, logger: Logger) -> None:
        self.sizes.append(len(state.batch["input_ids"]))
        self.tokens.append(count_real_tokens(state.batch))

    def batch_end(self, state: State, logger: Logger) -> None:
        self.clock.append((int(state.timestamp.sample), int(state.timestamp.token)))


@pytest.fixture(scope="module")
def reference(news_mds, tmp_path_factory) -> tuple[Path, TrainedBatches]:
    run_dir = tmp_path_factory.mktemp("warmup")
    cfg = load_config(str(TINY), run_args(news_mds, run_dir, WARMUP, "eval_loader=null",
                                          f"max_duration={STEPS}ba")[1:], PretrainConfig)
    trainer = build_trainer(cfg)
    record = TrainedBatches()
    trainer.state.callbacks.append(record)
    try:
        trainer.fit()
    finally:
        trainer.close()
    return run_dir, record


def test_batch_sizes_follow_the_ramp_and_the_clock_counts_trained_tokens(reference):
    _, record = reference
    trained = 0
    for step, (size, tokens, (samples, clock_tokens)) in enumerate(zip(record.sizes, record.tokens, record.clock)):
        progress = min(trained / RAMP_TOKENS, 1.0)  # the ramp reads the trained tokens before this step
        assert size == int(START + (BATCH - START) * progress), (step, trained)
        trained += tokens
        assert clock_tokens == trained  # tokens trained, not loaded
        assert samples == BATCH * (step + 1)  # samples drawn: the Streaming position stays exact
    assert record.sizes[0] == START and record.sizes[-1] == BATCH and len(set(record.sizes)) > 3, record.sizes


def test_killed_mid_ramp_resumes_bit_identical(reference, news_mds, tmp_path):
    args = run_args(news_mds, tmp_path, WARMUP, "eval_loader=null", f"max_duration={STEPS}ba")
    checkpoints = tmp_path / "checkpoints"
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=REPO, env=subprocess_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not (checkpoints / "latest-rank0.pt").exists():  # kill right after the checkpoint at batch 5
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    final = f"ep0-ba{STEPS}-rank0.pt"
    assert not (checkpoints / final).exists()
    assert pretrain_cli(args) == 0
    resumed, expected = weights(checkpoints / final), weights(reference[0] / "checkpoints" / final)
    for name, tensor in expected.items():
        assert torch.equal(resumed[name], tensor), name


def test_the_global_start_batch_is_split_over_the_ranks(monkeypatch):
    monkeypatch.setattr(batch_size_warmup.dist, "get_world_size", lambda: 2)
    by_size, by_fraction = BatchSizeWarmup("100sp", start_batch_size=6), BatchSizeWarmup("0.5dur", start_fraction=0.25)
    # 2 ranks x 8 samples: 6 -> 16 global over 100 samples; 4 -> 16 over the first half of 40 batches
    assert [by_size.device_batch_size(state_at("40ba", sample=s), 8) for s in (0, 50, 99, 100, 500)] == [3, 5, 7, 8, 8]
    assert [by_fraction.device_batch_size(state_at("40ba", batch=b), 8) for b in (0, 10, 20)] == [2, 5, 8]


@pytest.mark.parametrize("section, message", [
    ({"t_warmup": "10ba"}, "give one of 'start_batch_size'"),
    ({"t_warmup": "10ba", "start_fraction": 1.5}, r"'start_fraction' must be in \(0, 1\]"),
    ({"t_warmup": "1ep", "start_batch_size": 2}, "'t_warmup' must be in dur, ba, sp or tok"),
])
def test_bad_settings_are_config_errors_naming_the_key(section, message):
    with pytest.raises(ConfigError, match=r"config key 'algorithms.batch_size_warmup': " + message):
        build_algorithms({"batch_size_warmup": section})
