"""Training in phases on the real news corpus: phase 2 starts from phase 1's Composer checkpoint with a fresh
clock, schedule, data position, sequence length and batch size; killed, it resumes as itself, bit-identical.

Phase 1 is the tiny recipe for 10 batches at 64 tokens; phase 2 trains 10 batches of 8 at 128 tokens under
warmup_stable_decay with another lr and weight decay. A run with ``model.init_from`` (weights only, a new run)
is the reference for "phase 2's data and masks start at sample 0 of its own loader".
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_main_config import data_overrides, mds_dir  # noqa: F401 - mds_dir is a fixture
from test_main_e2e import REPO, event_files, run_args, scalars, subprocess_env, weights

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.training.cli import pretrain_cli
from mosaicbert.training.schema import PretrainConfig

PHASE1_STEPS = 10
PHASE2_STEPS = 10
PHASE2_LR, PHASE2_WEIGHT_DECAY = 1.0e-3, 2.0e-5


@pytest.fixture(scope="module")
def phase1(news_mds, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("phase1")
    assert pretrain_cli(run_args(news_mds, run_dir, f"max_duration={PHASE1_STEPS}ba", "eval_loader=null")) == 0
    return run_dir / "checkpoints" / f"ep0-ba{PHASE1_STEPS}-rank0.pt"


def phase2_args(news_mds: Path, run_dir: Path, *start: str) -> list[str]:
    """Phase 2's own length, batch, sequence length, schedule and optimizer settings; ``start``: where from."""
    return run_args(news_mds, run_dir, *start, "max_seq_len=128", "global_train_batch_size=8",
                    f"max_duration={PHASE2_STEPS}ba", "eval_loader=null", f"optimizer.lr={PHASE2_LR}",
                    f"optimizer.weight_decay={PHASE2_WEIGHT_DECAY}",
                    "scheduler={name: warmup_stable_decay, t_warmup: 0.2dur, t_decay: 0.5dur, decay_shape: 1-sqrt}")


@pytest.fixture(scope="module")
def phase2(news_mds, phase1, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("phase2")
    assert pretrain_cli(phase2_args(news_mds, run_dir, f"load_path={phase1}", "reset_time=true")) == 0
    return run_dir


@pytest.fixture(scope="module")
def new_run(news_mds, phase1, tmp_path_factory) -> Path:
    """The same settings as phase 2, as a new run from phase 1's weights (``model.init_from``)."""
    run_dir = tmp_path_factory.mktemp("init_from")
    assert pretrain_cli(phase2_args(news_mds, run_dir, f"model.init_from={phase1}")) == 0
    return run_dir


def final(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / f"ep0-ba{PHASE2_STEPS}-rank0.pt"


def test_phase2_starts_its_clock_schedule_and_data_at_zero(phase2, new_run):
    losses = scalars(event_files(phase2), "loss/train/total")
    assert sorted(losses) == list(range(PHASE2_STEPS))  # batch 0 to 9: a fresh clock, run to its own length
    assert scalars(event_files(phase2), "time/sample")[0] == 0
    reference = scalars(event_files(new_run), "loss/train/total")
    # batch 0: the same weights on the same samples with the same masks, so the same loss (phase 1's data
    # position, 160 samples in, would give another batch)
    assert losses[0] == pytest.approx(reference[0], abs=1e-6)
    # later batches differ: phase 2 continues phase 1's Adam moments, the new run starts them at zero
    assert abs(losses[PHASE2_STEPS - 1] - reference[PHASE2_STEPS - 1]) > 1e-4
    lr = scalars(event_files(phase2), "lr-FusedDecoupledAdamW/group0")
    # warmup_stable_decay from phase 2's lr; lr_monitor's value at step k + 1 is the schedule at batch k (Composer
    # steps the schedule before counting the batch): warmup over 2 batches, stable to 5, 1-sqrt decay over 5-10
    # to 0.02x (the tiny recipe's alpha_f)
    assert lr[1] == 0.0 and lr[2] == pytest.approx(PHASE2_LR / 2)
    assert lr[3] == lr[6] == pytest.approx(PHASE2_LR)
    assert lr[8] == pytest.approx(PHASE2_LR * (1 - 0.98 * (2 / 5) ** 0.5))
    assert lr[10] == pytest.approx(PHASE2_LR * (1 - 0.98 * (4 / 5) ** 0.5))
    group = torch.load(final(phase2), weights_only=False)["state"]["optimizers"]["FusedDecoupledAdamW"]
    assert group["param_groups"][0]["weight_decay"] == PHASE2_WEIGHT_DECAY  # phase 2's, not phase 1's 1e-5
    assert group["state"], "the Adam moments were carried over"


def test_killed_phase2_resumes_as_itself_bit_identical(phase1, phase2, news_mds, tmp_path):
    args = phase2_args(news_mds, tmp_path, f"load_path={phase1}", "reset_time=true")
    checkpoints = tmp_path / "checkpoints"
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=REPO, env=subprocess_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not (checkpoints / "latest-rank0.pt").exists():  # kill right after phase 2's first checkpoint
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert not final(tmp_path).exists()

    assert pretrain_cli(args) == 0  # the same command again: resumes phase 2, not phase 1
    resumed, reference = weights(final(tmp_path)), weights(final(phase2))
    assert resumed.keys() == reference.keys()
    for name, tensor in reference.items():
        assert torch.equal(resumed[name], tensor), name
    restart_steps = [step for file in event_files(tmp_path)[1:] for step in scalars([file], "loss/train/total")]
    assert restart_steps and min(restart_steps) >= 5, sorted(restart_steps)


def test_weights_only_phase_is_the_new_run_from_those_weights(phase1, new_run, news_mds, tmp_path):
    """``load_weights_only`` (Composer's strict loader) and ``model.init_from`` give the same run."""
    assert pretrain_cli(phase2_args(news_mds, tmp_path, f"load_path={phase1}", "load_weights_only=true")) == 0
    assert scalars(event_files(tmp_path), "loss/train/total") == scalars(event_files(new_run), "loss/train/total")


@pytest.mark.parametrize("overrides, message", [
    (["reset_time=true"], "config key 'reset_time': applies only with 'load_path'"),
    (["load_path=missing.pt"], "config key 'load_path': no checkpoint file at 'missing.pt'"),
    (["load_path={phase1}", "model.init_from={phase1}"], "config key 'load_path': 'model.init_from' also gives"),
    (["load_path={phase1}", "save_folder={phase1_folder}"], "config key 'save_folder': '{phase1_folder}' holds"),
])
def test_bad_phase_settings_are_one_line_config_errors(phase1, news_mds, tmp_path, capsys, overrides, message):
    places = {"phase1": phase1, "phase1_folder": phase1.parent}
    args = run_args(news_mds, tmp_path, *(o.format(**places) for o in overrides))
    assert pretrain_cli(args) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("main.py: error: " + message.format(**places)), error
    assert phase1.is_file()  # nothing of phase 1 was touched


@pytest.mark.parametrize("length", [512, 1024, 2048])
def test_long_context_recipes_are_phases_of_the_128_run(length, mds_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "8")  # 8 GPUs on one node, as the cost estimate in the YAML
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    checkpoint = tmp_path / "latest-rank0.pt"
    checkpoint.touch()
    cfg = load_config(REPO / "yamls" / f"mosaic-bert-base-seqlen-{length}.yaml",
                      [*data_overrides(mds_dir), f"load_path={checkpoint}", "device=gpu"], PretrainConfig)
    base = load_config(REPO / "yamls" / "mosaic-bert-base.yaml", [*data_overrides(mds_dir), "device=gpu"],
                       PretrainConfig)
    assert cfg.max_seq_len == length and cfg.reset_time and not cfg.load_weights_only
    assert cfg.global_train_batch_size * length == 4096 * 512  # the token slots of the published 512 x 4096
    assert int(cfg.max_duration.removesuffix("sp")) == 7000 * cfg.global_train_batch_size
    assert cfg.model.model_config == {**base.model.model_config, "alibi_starting_size": length}  # a strict load
    assert base.save_folder.rstrip("/").endswith("mosaic-bert-base/checkpoints")
    with open(REPO / "yamls" / f"mosaic-bert-base-seqlen-{length}.yaml") as recipe:
        assert f"load_path: {base.save_folder}/latest-rank0.pt" in recipe.read()
    assert cfg.save_folder != base.save_folder and cfg.scheduler["name"] == "warmup_stable_decay"


def test_a_started_phase_resumes_even_if_load_path_is_gone(news_mds, tmp_path):
    """Autoresume reads the phase's own checkpoint, not load_path: the earlier run may have been cleaned up."""
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "latest-rank0.pt").symlink_to("ep0-ba5-rank0.pt")
    args = run_args(news_mds, tmp_path, f"load_path={tmp_path}/deleted/ep0-ba10-rank0.pt", "reset_time=true")
    cfg = load_config(args[0], args[1:], PretrainConfig)
    assert cfg.load_path.endswith("deleted/ep0-ba10-rank0.pt")
    with pytest.raises(ConfigError, match="config key 'load_path': no checkpoint file at"):
        load_config(args[0], [*args[1:], "autoresume=false"], PretrainConfig)


def test_a_finished_phase_run_again_is_complete_not_restarted_from_the_phase_before(news_mds, phase1, phase2,
                                                                                    tmp_path, capsys):
    """A requeued phase-2 job (the same command, load_path and reset_time included) finds its own checkpoint at
    max_duration: one line, nothing trained, its checkpoint untouched; it does not start over from phase 1."""
    run_dir = tmp_path / "phase2"
    shutil.copytree(phase2, run_dir, symlinks=True)
    before = {p.name: p.read_bytes() for p in (run_dir / "checkpoints").glob("ep*.pt")}
    assert pretrain_cli(phase2_args(news_mds, run_dir, f"load_path={phase1}", "reset_time=true")) == 0
    assert f"is already complete at {PHASE2_STEPS}ba" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (run_dir / "checkpoints").glob("ep*.pt")} == before
