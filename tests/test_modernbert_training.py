"""The recipe's features with ``model.name: modernbert`` (``yamls/test/modernbert-tiny.yaml``) on real news text:
two streams and the masking-rate schedule, an exact resume, 2 DDP ranks, the non-finite guard, a GLUE sweep with an
MNLI-started task, and fine-tuning on your own data exported to plain transformers.

FSDP (one unit per ModernBERT layer) and activation checkpointing: ``test_models_sharding.py``; ``compile_config``:
``test_models_compile.py``; both parametrized over the families.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_main_e2e import assert_nonfinite_stop, assert_same_weights, event_files, run_two_ranks, scalars
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from mosaicbert.config.loading import load_config
from mosaicbert.finetune.config import GlueConfig, SequenceClassificationConfig
from mosaicbert.finetune.custom_task import build_task, run_custom_task
from mosaicbert.finetune.data import read_table
from mosaicbert.finetune.glue_sweep import run_glue
from mosaicbert.finetune.glue_tasks import GLUE_TASKS
from mosaicbert.models.weights import read_weights
from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "yamls" / "test" / "modernbert-tiny.yaml"
STEPS = 8
SAVE_EVERY = 4
# the fine-tuning test configs' tiny shape, in ModernBERT's keys (one global and one local layer)
FINETUNE_MODEL = ["model.name=modernbert", "model.model_config={hidden_size: 64, num_hidden_layers: 2, "
                  "num_attention_heads: 2, intermediate_size: 96, local_attention: 16}"]


def run_args(news_mds: Path, run_dir: Path, *extra: str) -> list[str]:
    """The tiny ModernBERT recipe on two streams of the news articles: raw text and pre-tokenised ids."""
    streams = (f"train_loader.streams={{text: {{local: {news_mds / 'text'}, proportion: 0.5}}, "
               f"ids: {{local: {news_mds / 'tokens'}, proportion: 0.5}}}}")
    return [str(TINY), "train_loader.local=null", streams, f"eval_loader.local={news_mds / 'text'}",
            f"save_folder={run_dir}/checkpoints", f"loggers.tensorboard.log_dir={run_dir}/tb",
            f"max_duration={STEPS}ba", f"eval_interval={STEPS}ba", f"save_interval={SAVE_EVERY}ba",
            "save_num_checkpoints_to_keep=-1", "log_to_console=false", *extra]


@pytest.fixture(scope="module")
def reference_run(news_mds, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("modernbert")
    assert pretrain_cli(run_args(news_mds, run_dir)) == 0
    return run_dir


def test_trains_on_two_streams_with_the_masking_schedule(reference_run):
    files = event_files(reference_run)
    losses = scalars(files, "loss/train/total")
    assert sorted(losses) == list(range(STEPS)) and losses[STEPS - 1] < losses[0] - 0.5
    rates = scalars(files, "masking/rate")
    for step, rate in rates.items():  # linear 0.30 -> 0.15 over the run
        assert rate == pytest.approx(0.30 - 0.15 * step / STEPS, abs=1e-6)
    assert all(0 < v < 1 for v in scalars(files, "throughput/device/mfu").values())
    assert scalars(files, "metrics/eval/LanguageCrossEntropy")[STEPS] < losses[0]


def test_resume_from_the_last_checkpoint_ends_bit_identical(reference_run, news_mds, tmp_path):
    """A run that lost its final checkpoint (killed after batch 4's) restarts from batch 4 and ends identical."""
    args = run_args(news_mds, tmp_path)
    assert pretrain_cli(args) == 0
    checkpoints = tmp_path / "checkpoints"
    (checkpoints / f"ep0-ba{STEPS}-rank0.pt").unlink()
    (checkpoints / "latest-rank0.pt").unlink()  # the restart relinks the newest complete checkpoint (batch 4)
    assert pretrain_cli(args) == 0
    final = f"ep0-ba{STEPS}-rank0.pt"
    assert_same_weights(checkpoints / final, reference_run / "checkpoints" / final)


@pytest.mark.slow
def test_two_ddp_ranks_match_one_rank(reference_run, news_mds, tmp_path):
    run_two_ranks(run_args(news_mds, tmp_path), tmp_path / "two-ranks.log")
    one = scalars(event_files(reference_run), "loss/train/total")
    two = scalars(event_files(tmp_path), "loss/train/total")
    assert sorted(two) == sorted(one)
    # loss averaging (mean of the two half-batch means) and gradient averaging only, as in test_main_e2e.py; another
    # data order or other masks differ by 1e-1 and more
    differences = [abs(two[step] - one[step]) for step in sorted(one)]
    assert differences[0] < 0.01 and max(differences) < 0.02, differences


def test_nonfinite_loss_stops_the_run_and_keeps_the_last_checkpoint(news_mds, tmp_path, capsys):
    args = run_args(news_mds, tmp_path, "optimizer.lr=1e30", "save_interval=1ba", "eval_loader=null")
    assert_nonfinite_stop(args, tmp_path / "checkpoints", capsys)


def test_glue_sweep_with_an_mnli_started_task(tmp_path):
    overrides = [f"data_dir={REPO / 'tests' / 'fixtures' / 'glue'}", f"output_dir={tmp_path}", "workers=1",
                 "run_tasks=[mnli,rte]", *FINETUNE_MODEL]
    cfg = load_config(REPO / "yamls" / "test" / "glue-tiny.yaml", overrides, GlueConfig)
    summary = run_glue(cfg, echo=lambda line: None)
    for task in ("mnli", "rte"):
        job = json.loads((tmp_path / "jobs" / f"{task}-seed19.json").read_text())
        assert job["error"] is None and set(job["metrics"]) == set(GLUE_TASKS[task].metric_keys()), job
        assert all(0.0 <= value <= 1.0 for value in job["metrics"].values()), job
    assert summary.tasks_averaged == ["mnli", "rte"]
    mnli = read_weights(tmp_path / "checkpoints" / "mnli-seed19.pt")  # RTE started from it (its head, a new one)
    assert mnli.model_type == "modernbert" and "model.layers.1.attn.Wqkv.weight" in mnli.state_dict
    assert "rte" in cfg.tasks_from_mnli()


def test_own_data_fine_tunes_and_exports_to_plain_transformers(tmp_path):
    cfg = load_config(REPO / "yamls" / "test" / "sequence-classification-tiny.yaml",
                      [f"output_dir={tmp_path}", *FINETUNE_MODEL], SequenceClassificationConfig)
    metrics = run_custom_task(cfg, echo=lambda line: None)
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()  # no remote code
    assert type(model).__name__ == "ModernBertForSequenceClassification"
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "hf")
    task, columns = build_task(cfg)
    dev = read_table(REPO / "tests" / "fixtures" / "own_data" / "reviews_dev.csv", columns, task)
    batch = tokenizer(dev.text_a, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        predictions = model(**batch).logits.argmax(dim=-1)
    assert (predictions == torch.tensor(dev.labels)).float().mean().item() == pytest.approx(metrics["accuracy"])
