"""Smoke runs of the helper scripts and the benchmarks at tiny settings (seconds each), on one tiny trained run,
and main.py's exit code 130 when a real training process gets SIGINT.

The scripts run in this process through ``runpy`` as ``python SCRIPT ARGS`` would run them (imports are shared:
no interpreter start per script)."""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "yamls" / "test" / "mosaic-bert-tiny.yaml"
STEPS = 4


def tiny_run_args(news_mds: Path, run_dir: Path, *extra: str) -> list[str]:
    data = news_mds / "text"
    return [str(TINY), f"train_loader.local={data}", f"eval_loader.local={data}", f"save_folder={run_dir}/checkpoints",
            f"loggers.tensorboard.log_dir={run_dir}/tensorboard", "log_to_console=false", *extra]


@pytest.fixture(scope="module")
def tiny_run(news_mds, tmp_path_factory) -> Path:
    """A 4-batch run laid out as the quickstart's: ``tensorboard/`` (evaluated at batch 0 and 4) and ``hf/``."""
    run_dir = tmp_path_factory.mktemp("tiny-run")
    assert pretrain_cli(tiny_run_args(news_mds, run_dir, f"max_duration={STEPS}ba", f"eval_interval={STEPS}ba",
                                      "eval_first=true", "eval_subset_num_batches=1", f"save_interval={STEPS}ba",
                                      f"export_hf_dir={run_dir}/hf")) == 0
    return run_dir


def run_script(path: Path, *args: str, monkeypatch) -> int:
    """``python path args`` in this process; its exit code (0 when it returns without ``sys.exit``)."""
    monkeypatch.setattr(sys, "argv", [str(path), *args])
    monkeypatch.syspath_prepend(str(path.parent))  # as Python puts a script's folder first
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as done:
        return done.code or 0
    return 0


def test_fill_mask_prints_the_top_predictions(tiny_run, monkeypatch, capsys):
    sentence = "The government said the [MASK] would rise next year."
    assert run_script(REPO / "scripts" / "fill_mask.py", str(tiny_run / "hf"), sentence, "--top_k", "3",
                      monkeypatch=monkeypatch) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == sentence and len(lines) == 4
    scores = [float(re.fullmatch(r"  (0\.\d{3})  \S.*", line).group(1)) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True)


def test_quickstart_report_reads_the_run(tiny_run, monkeypatch, capsys):
    assert run_script(REPO / "scripts" / "quickstart_report.py", str(tiny_run), monkeypatch=monkeypatch) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"held-out masked-token accuracy .*: step 0: \d+\.\d%  ->  step 4: \d+\.\d%", lines[0])
    assert sum(line.startswith(("HIT ", "miss")) for line in lines) == 20
    assert re.fullmatch(r"fill-mask on 20 held-out news sentences: .* for \d+/20", lines[-1])


def test_model_throughput_tiny(tmp_path, monkeypatch, capsys):
    out = tmp_path / "model-throughput"
    assert run_script(REPO / "benchmarks" / "model_throughput.py", "--workloads", "news128", "glue",
                      "--models", "hf_bert", "mosaic_glu", "--precisions", "fp32", "--shape", "tiny", "--warmup", "0",
                      "--steps", "1", "--batch-128", "2", "--batch-glue", "2", "--hf-glue-padding", "dynamic",
                      "--no-loader", "--peak-tokens", "64", "--threads", "1", "--out", str(out),
                      monkeypatch=monkeypatch) == 0
    results = json.loads(out.with_suffix(".json").read_text())["results"]
    assert sorted((r["workload"], r["model"]) for r in results) == [
        ("glue", "hf_bert"), ("glue", "mosaic_glu"), ("news128", "hf_bert"), ("news128", "mosaic_glu")]
    assert all(r["samples_per_s"] > 0 and r["mfu"] > 0 for r in results)
    assert "| news128 | mosaic_glu |" in out.with_suffix(".md").read_text()


def test_finetune_throughput_tiny(monkeypatch, capsys):
    assert run_script(REPO / "benchmarks" / "finetune_throughput.py", "--shape", "tiny", "--batch-size", "4",
                      "--warmup", "1", "--steps", "1", "--threads", "1", monkeypatch=monkeypatch) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [r["model"] for r in results] == ["mosaic_bert", "hf_bert"]
    assert all(r["sentences_per_s"] > 0 and 0 < r["real_token_share"] <= 1 for r in results)


def test_data_throughput_tiny(tmp_path, monkeypatch, capsys):
    assert run_script(REPO / "benchmarks" / "data_throughput.py", "--max-docs", "30", "--loader-workers", "0",
                      "--seq", "64", "--batch-size", "8", "--workers", "1", "--out_root", str(tmp_path),
                      monkeypatch=monkeypatch) == 0
    printed = capsys.readouterr().out
    report = json.loads(printed[printed.find("{"):])
    assert {layout: r["documents"] for layout, r in report["conversion"].items()} == {"text": 30, "tokens": 30}
    assert set(report["dataloader"]) == {f"{layout}_{key}" for layout in ("text", "tokens") for key in (
        "workers0_samples_per_s", "workers0_loader_only_samples_per_s", "workers_per_gpu")}


def test_host_syncs_tiny_measures_both_variants_and_counts_the_removed_sync(tmp_path, monkeypatch):
    out = tmp_path / "host-syncs"
    assert run_script(REPO / "benchmarks" / "host_syncs.py", "--shape", "tiny", "--batch-size", "2", "--warmup", "0",
                      "--steps", "1", "--precisions", "fp32", "--threads", "1", "--out", str(out),
                      monkeypatch=monkeypatch) == 0
    before, now = json.loads(out.with_suffix(".json").read_text())["results"]
    assert before["sync_calls"].count("__int__") == 1 and "__int__" not in now["sync_calls"]
    assert before["host_syncs"] == now["host_syncs"] + 1 and now["sync_calls"].count("nonzero") == 2
    assert before["median_step_s"] > 0 and now["ratio_before_over_now"] > 0
    assert "| fp32 | upper bound (now) |" in out.with_suffix(".md").read_text()


def test_main_py_exits_130_on_sigint_and_keeps_its_checkpoint(news_mds, tmp_path):
    """SIGINT (Ctrl-C) to a real training process: one line, exit code 130, the checkpoints written so far intact."""
    args = tiny_run_args(news_mds, tmp_path, "max_duration=100000ba", "save_interval=2ba", "eval_loader=null")
    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=REPO,
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    latest = tmp_path / "checkpoints" / "latest-rank0.pt"
    try:
        while not latest.exists():
            assert process.poll() is None, process.stderr.read()[-3000:]
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert "main.py: interrupted" in stderr.splitlines() and "Traceback" not in stderr, stderr[-3000:]
    assert re.fullmatch(r"ep0-ba\d*[02468]-rank0\.pt", latest.resolve().name)
    assert torch.load(latest, map_location="cpu", weights_only=False)["state"]["model"]
