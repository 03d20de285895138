"""``main.py`` started again on a run whose own checkpoint reached ``max_duration`` (training/completion.py).

One real tiny run (conftest ``finished_tiny_run``: the news corpus, 4 batches, exported) is started again
as it is, with its export removed, with a shorter and a longer ``max_duration``, and on 2 gloo ranks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]


def digests(folder: Path) -> dict[str, str]:
    """Every file's bytes (links by their target), by path: what "byte-identical" compares."""
    return {str(p.relative_to(folder)): (f"-> {p.readlink()}" if p.is_symlink()
                                         else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file() or p.is_symlink()}


@pytest.fixture
def copy_of(finished_tiny_run, tmp_path):
    """A copy of the finished run (every test changes its own); the config points at the copy."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished_tiny_run, run_dir, symlinks=True)
    return run_dir


def test_complete_run_trains_nothing_and_leaves_checkpoint_and_export_identical(tiny_run_args, copy_of, capsys):
    before = digests(copy_of / "ck"), digests(copy_of / "hf")
    assert pretrain_cli(tiny_run_args(copy_of)) == 0
    err = capsys.readouterr().err
    assert (f"run 'mosaic-bert-tiny' is already complete at 4ba ({copy_of / 'ck' / 'ep0-ba4-rank0.pt'}); "
            "nothing to train") in err
    assert "eval: step 4, eval loss" in err  # the final evaluation again
    assert "Traceback" not in err and "export" not in err.lower()
    assert (digests(copy_of / "ck"), digests(copy_of / "hf")) == before


def test_complete_run_without_its_export_writes_only_the_export(tiny_run_args, copy_of, capsys):
    checkpoints = digests(copy_of / "ck")
    shutil.rmtree(copy_of / "hf")
    assert pretrain_cli(tiny_run_args(copy_of)) == 0
    assert "already complete at 4ba" in capsys.readouterr().err
    assert (copy_of / "hf" / "config.json").is_file() and digests(copy_of / "ck") == checkpoints


def test_shorter_max_duration_is_a_config_error_naming_both(tiny_run_args, copy_of, capsys):
    checkpoints = digests(copy_of / "ck")
    assert pretrain_cli(tiny_run_args(copy_of, "max_duration=2ba")) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("main.py: error: config key 'max_duration': 2ba is shorter than run "
                                "'mosaic-bert-tiny'") and "is at 4ba" in lines[-1]
    assert digests(copy_of / "ck") == checkpoints


def test_longer_max_duration_continues_training(tiny_run_args, copy_of, capsys):
    assert pretrain_cli(tiny_run_args(copy_of, "max_duration=6ba", "save_interval=6ba")) == 0
    assert "already complete" not in capsys.readouterr().err
    assert (copy_of / "ck" / "latest-rank0.pt").readlink() == Path("ep0-ba6-rank0.pt")


def test_another_runs_checkpoint_is_not_this_runs_completion(tiny_run_args, finished_tiny_run, tmp_path, capsys):
    """Weights from a finished run (init_from) start a new run: only the run's own save_folder counts."""
    args = tiny_run_args(tmp_path, f"model.init_from={finished_tiny_run / 'ck' / 'ep0-ba4-rank0.pt'}",
                    "export_hf_dir=null", "max_duration=2ba", "save_interval=2ba", "eval_interval=2ba")
    assert pretrain_cli(args) == 0
    assert "already complete" not in capsys.readouterr().err
    assert (tmp_path / "ck" / "ep0-ba2-rank0.pt").is_file()


@pytest.mark.slow
def test_two_ranks_take_the_same_branch(tiny_run_args, copy_of):
    """``composer -n 2`` on the finished run: both ranks skip training and exit 0 (no rank waits in fit)."""
    before = digests(copy_of / "ck"), digests(copy_of / "hf")
    composer = Path(sys.executable).parent / "composer"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(composer), "-n", "2", str(REPO / "main.py"), *tiny_run_args(copy_of)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert output.count("is already complete at 4ba") == 1 and "Traceback" not in output
    assert (digests(copy_of / "ck"), digests(copy_of / "hf")) == before
