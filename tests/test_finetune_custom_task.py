"""sequence_classification.py: fine-tune on your own CSV/JSONL (classification and regression), export to HF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertModel

from mosaicbert.config.loading import load_config
from mosaicbert.finetune.cli import custom_task_main
from mosaicbert.finetune.config import SequenceClassificationConfig
from mosaicbert.finetune.custom_task import build_task, run_custom_task
from mosaicbert.finetune.data import Columns, read_table

ROOT = Path(__file__).resolve().parents[1]
OWN = ROOT / "tests" / "fixtures" / "own_data"
TINY = ROOT / "yamls" / "test" / "sequence-classification-tiny.yaml"


def test_classification_from_csv_exports_a_model_that_reproduces_the_metrics(tmp_path):
    cfg = load_config(TINY, [f"output_dir={tmp_path}"], SequenceClassificationConfig)
    printed: list[str] = []
    metrics = run_custom_task(cfg, echo=printed.append)
    assert printed[0] == "reviews-tiny: 24 training and 12 evaluation examples, 2 classes (negative, positive)"
    assert set(metrics) == {"accuracy", "f1", "matthews"}
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"] == metrics

    export = tmp_path / "hf"
    model = AutoModelForSequenceClassification.from_pretrained(export, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(export)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    task, columns = build_task(cfg)
    dev = read_table(OWN / "reviews_dev.csv", columns, task)
    batch = tokenizer(dev.text_a, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        predictions = model(**batch).logits.argmax(dim=-1)
    accuracy = (predictions == torch.tensor(dev.labels)).float().mean().item()
    assert accuracy == pytest.approx(metrics["accuracy"])


def test_regression_with_text_pairs_from_jsonl(tmp_path):
    overrides = [f"output_dir={tmp_path}", "export_dir=null", "task_type=regression", "run_name=similarity",
                 f"data.train_file={OWN / 'similarity_train.jsonl'}", f"data.eval_file={OWN / 'similarity_dev.jsonl'}"]
    cfg = load_config(TINY, overrides, SequenceClassificationConfig)
    task, columns = build_task(cfg)
    assert columns == Columns("text", "label", "text_pair") and task.is_regression
    metrics = run_custom_task(cfg, echo=lambda line: None)
    assert set(metrics) == {"pearson", "spearman"}
    assert all(-1.0 <= v <= 1.0 for v in metrics.values())
    assert not (tmp_path / "hf").exists()


def test_bad_label_is_one_line_and_exit_1(tmp_path, capsys):
    train = tmp_path / "train.csv"
    lines = (OWN / "reviews_train.csv").read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",neutral"
    train.write_text("\n".join(lines) + "\n")
    argv = [str(TINY), f"output_dir={tmp_path}", f"data.train_file={train}", "labels=[negative,positive]"]
    assert custom_task_main(argv) == 1
    assert capsys.readouterr().err == (f"sequence_classification.py: error: {train} line 6: label 'neutral' is not one of negative, positive or 0..1\n")


def test_model_config_typo_is_one_line_and_exit_2_before_training(tmp_path, capsys):
    argv = [str(TINY), f"output_dir={tmp_path}", "model.model_config.num_hiden_layers=1"]
    assert custom_task_main(argv) == 2
    assert capsys.readouterr().err == ("sequence_classification.py: error: unknown config key 'model.model_config.num_hiden_layers' for model "
                                       "'mosaic_bert' (did you mean 'model.model_config.num_hidden_layers'?)\n")
    assert not (tmp_path / "metrics.json").exists()


def test_init_layers_fine_tunes_the_bottom_of_minilm(tmp_path, minilm_dir):
    """``model.init_layers`` in a fine-tuning config: the classifier's encoder is MiniLM's layer 0, fine-tuned."""
    cfg = load_config(TINY, [f"output_dir={tmp_path}", f"model.init_from={minilm_dir}", "model.init_layers=1"],
                      SequenceClassificationConfig)
    cfg.model.model_config = {"position_embedding_type": "absolute", "ffn_type": "mlp"}  # MiniLM's own shape
    run_custom_task(cfg, echo=lambda line: None)
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf", trust_remote_code=True)
    assert model.config.num_hidden_layers == 1
    ours = next(p for k, p in model.named_parameters() if k.endswith("encoder.layer.0.attention.dense.weight"))
    source = BertModel.from_pretrained(minilm_dir).state_dict()
    moved = (ours - source["encoder.layer.0.attention.output.dense.weight"]).abs().max()
    assert 0 < moved <= 1e-2 < (ours - source["encoder.layer.1.attention.output.dense.weight"]).abs().max()
