"""``bash scripts/gpu_check.sh``: the CPU dry run passes every check through the same code as on a GPU (real
runs of main.py and glue.py, real text and tokenizer), a broken run fails with its line and exit 1, on a GPU
image's own stack (transformers 5, no Composer) the model-level checks run and the others say they are skipped,
and without a GPU (and without --cpu-dry-run) the script says so in one line and exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mosaicbert.gpu_check.profiles import CPU_DRY_RUN
from mosaicbert.gpu_check.registry import CHECKS
from mosaicbert.models.registry import MODEL_REGISTRY

REPO = Path(__file__).resolve().parents[1]
# The dry run: 127 s wall (112 s user) alone on a 2-core AMD EPYC with native bf16; ~2x that on an AVX2-only one
pytestmark = pytest.mark.timeout(1800)


def gpu_check(*args: str, timeout: float = 1700, **env_extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GPU_CHECK_PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": "", **env_extra}
    return subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    root = tmp_path_factory.mktemp("gpu-check")
    done = gpu_check("--cpu-dry-run", "--out", str(root / "gpu_check.json"), "--work-dir", str(root / "work"))
    report = json.loads((root / "gpu_check.json").read_text()) if (root / "gpu_check.json").exists() else {}
    return done, report


def rows_of(report: dict, check: str) -> dict[str, dict]:
    return {r["item"]: r for r in report["rows"] if r["check"] == check}


@pytest.mark.slow  # the whole dry run: ~2 min of one worker
def test_dry_run_passes_every_check(dry_run):
    done, report = dry_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert report["profile"] == "cpu-dry-run"
    assert {r["check"] for r in report["rows"]} == set(CHECKS)
    statuses = {(r["check"], r["item"]): r["status"] for r in report["rows"]}
    assert statuses.pop(("attention", "flash_attn")) == "skipped"  # no CUDA here: said so, not failed
    assert set(statuses.values()) == {"pass"}, statuses
    lines = done.stdout.splitlines()  # one table: a header, a rule, one line per row in the JSON's order
    header = next(i for i, line in enumerate(lines) if line.split()[:4] == ["check", "item", "status", "result"])
    body = lines[header + 2:header + 2 + len(report["rows"])]
    assert [line.split()[0] for line in body] == [r["check"] for r in report["rows"]]


@pytest.mark.slow  # the whole dry run: ~2 min of one worker
def test_dry_run_values(dry_run):
    _, report = dry_run
    pretraining = rows_of(report, "pretraining")
    loss = pretraining[f"{CPU_DRY_RUN.pretrain_steps} steps amp_bf16"]["values"]
    assert loss["first"] - loss["last"] >= CPU_DRY_RUN.min_loss_drop and loss["nonfinite_steps"] == []
    restart = pretraining[f"kill at {CPU_DRY_RUN.kill_at} + restart"]["values"]
    assert restart["resumed_at"] == CPU_DRY_RUN.kill_at and restart["differing"] == 0 and restart["tensors"] > 0

    throughput = rows_of(report, "throughput")
    peak = throughput.pop("float32 matmul peak")["values"]["peak_flops"]
    assert peak > 1e8
    assert sorted(throughput) == sorted(f"{name} seq {seq}" for name in MODEL_REGISTRY for seq in (128, 512))
    assert all(0 < r["values"]["mfu"] < 1 and r["values"]["real_tokens_per_s"] > 0 for r in throughput.values())

    (syncs,) = rows_of(report, "host_syncs").values()  # the old exact max_seqlen: one more sync, an int()
    before, now = syncs["values"]["sync_calls"].values()
    assert "__int__" in before and "__int__" not in now and len(now) == len(before) - 1
    assert syncs["values"]["backend"] == "sdpa" and syncs["values"]["ratio_before_over_now"] > 0

    fsdp = rows_of(report, "fsdp")
    assert fsdp["mosaic_bert units"]["values"]["units"] == 2 and fsdp["hf_bert units"]["values"]["units"] == 2
    assert fsdp["1 rank: save + resume"]["values"]["differing"] == 0
    assert fsdp["export_hf_dir"]["values"]["tensors"] > 0

    (glue,) = rows_of(report, "glue").values()
    assert glue["values"]["finished"] == glue["values"]["jobs"] == len(CPU_DRY_RUN.glue_tasks)
    (compiled,) = rows_of(report, "compile").values()
    assert compiled["values"]["graphs"] > 0 and compiled["values"]["max_loss_difference"] <= 1e-5


def test_a_broken_run_fails_with_its_line_and_exit_1(tmp_path):
    """Corrupt MDS shards of the news corpus: main.py fails, the check names its error line and log."""
    shards = tmp_path / "work" / "news-mds"
    for split in ("train", "val"):
        (shards / split).mkdir(parents=True)
        (shards / split / "index.json").write_text("{not json")
    done = gpu_check("--cpu-dry-run", "--only", "pretraining", "--out", str(tmp_path / "out.json"),
                     "--work-dir", str(tmp_path / "work"))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("gpu_check: FAILED: pretraining: -: exit 1: ") and "index.json" in last, last
    assert str(tmp_path / "work" / "pretraining" / "reference" / "run.log") in last
    assert json.loads((tmp_path / "out.json").read_text())["rows"][0]["status"] == "FAIL"


def test_without_a_gpu_one_line_and_exit_0(tmp_path):
    done = gpu_check("--out", str(tmp_path / "out.json"), timeout=300)
    assert done.returncode == 0
    assert done.stdout.strip().splitlines() == [
        "gpu_check: no CUDA GPU visible (torch.cuda.is_available() is False); nothing to check "
        "(--cpu-dry-run runs the checks on CPU stand-ins)"]
    assert not (tmp_path / "out.json").exists()


@pytest.mark.slow  # every model-level check on transformers 5: ~1 min
def test_an_image_without_composer_runs_the_model_level_checks_on_transformers_5(tmp_path, transformers5_path):
    """A GPU image's own stack: transformers 5, no Composer, no Streaming. The attention check runs; each
    trainer-level check is one skipped row naming what does not import; exit 0."""
    image = tmp_path / "image"
    for package in ("composer", "streaming"):
        (image / package).mkdir(parents=True)
        (image / package / "__init__.py").write_text(f"raise ImportError('{package} is not on this image')\n")
    done = gpu_check("--cpu-dry-run", "--out", str(tmp_path / "out.json"), "--work-dir", str(tmp_path / "work"),
                     timeout=600, PYTHONPATH=os.pathsep.join([str(image), transformers5_path]))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["machine"]["transformers"].startswith("5.") and report["machine"]["composer"] is None
    attention = rows_of(report, "attention")
    assert attention.pop("flash_attn")["status"] == "skipped"
    assert attention and {r["status"] for r in attention.values()} == {"pass"}
    for name, check in CHECKS.items():
        if check.requires:
            (skipped,) = rows_of(report, name).values()
            missing = ", ".join(p for p in check.requires if p in ("composer", "streaming"))
            assert (skipped["status"], skipped["result"]) == ("skipped", f"skipped: {missing} not importable")
