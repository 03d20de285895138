"""Metrics of the MLM and classification wrappers on known inputs, against hand computations and scipy."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from mosaicbert.models.build import build_composer_model
from mosaicbert.models.metrics import classification_metrics

TINY = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


def _compute(model, batch, predictions) -> dict[str, float]:
    metrics = model.get_metrics(is_train=False)
    for metric in metrics.values():
        model.update_metric(batch, predictions, metric)
    return {name: float(metric.compute()) for name, metric in metrics.items()}


@pytest.fixture(scope="module")
def mlm_batch(tokenizer, news_sentences):
    batch = dict(tokenizer(news_sentences[:3], padding=True, return_tensors="pt"))
    labels = torch.full_like(batch["input_ids"], -100)
    real = batch["attention_mask"].bool()
    generator = torch.Generator().manual_seed(0)
    chosen = (torch.rand(labels.shape, generator=generator) < 0.3) & real
    labels[chosen] = batch["input_ids"][chosen]
    shortest = int(batch["attention_mask"].sum(1).argmin())
    assert not real[shortest, -1]
    labels[shortest, -1] = 7  # a label on a padding position is never scored
    batch["labels"] = labels
    return batch


@pytest.mark.parametrize("name", ["hf_bert", "mosaic_bert"])
def test_mlm_metrics_score_masked_tokens_only(name, mlm_batch):
    model = build_composer_model(name, "mlm", model_config=TINY)
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(1)
    full_logits = torch.randn(*mlm_batch["input_ids"].shape, vocab, generator=generator)
    scored = (mlm_batch["labels"] != -100) & mlm_batch["attention_mask"].bool()
    targets = mlm_batch["labels"][scored]
    # Give every other masked token its label as the top prediction: accuracy is known exactly.
    rows = full_logits[scored]
    rows[::2, :] = rows[::2, :].scatter(1, targets[::2, None], 100.0)
    full_logits[scored] = rows

    from_full = model.eval_forward(mlm_batch, {"logits": full_logits})  # transformers: logits at every position
    from_masked = model.eval_forward(mlm_batch, {"logits": full_logits[scored]})  # MosaicBERT: masked rows only
    assert from_full.shape == (int(scored.sum()), vocab)
    assert torch.equal(from_full, from_masked)

    result = _compute(model, mlm_batch, from_full)
    expected_ce = F.cross_entropy(full_logits[scored], targets).item()
    expected_accuracy = (full_logits[scored].argmax(-1) == targets).float().mean().item()
    assert expected_accuracy >= 0.5
    assert result["LanguageCrossEntropy"] == pytest.approx(expected_ce, rel=1e-5)
    assert result["MaskedAccuracy"] == pytest.approx(expected_accuracy)


def test_binary_classification_metrics_match_hand_computation():
    predictions = torch.tensor([1, 0, 1, 1, 0, 1, 0, 0])
    labels = torch.tensor([1, 0, 0, 1, 1, 1, 0, 1])
    tp, tn, fp, fn = 3, 2, 1, 2
    metrics = classification_metrics(2)
    for metric in metrics.values():
        metric.update(predictions, labels)
    result = {name: float(metric.compute()) for name, metric in metrics.items()}
    assert set(result) == {"accuracy", "f1", "matthews"}
    assert result["accuracy"] == pytest.approx((tp + tn) / 8)
    assert result["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert result["matthews"] == pytest.approx(mcc, rel=1e-5)


def test_multiclass_metrics_match_hand_computation():
    predictions = torch.tensor([0, 1, 2, 2, 1, 0, 2, 1, 0, 2])
    labels = torch.tensor([0, 1, 2, 1, 1, 0, 0, 2, 0, 2])
    metrics = classification_metrics(3)
    assert set(metrics) == {"accuracy", "matthews"}
    for metric in metrics.values():
        metric.update(predictions, labels)
    confusion = torch.zeros(3, 3)
    for p, t in zip(predictions, labels):
        confusion[t, p] += 1
    correct, total = confusion.trace(), confusion.sum()
    predicted, true = confusion.sum(0), confusion.sum(1)
    mcc = (correct * total - predicted @ true) / torch.sqrt(
        (total**2 - predicted @ predicted) * (total**2 - true @ true))
    assert float(metrics["accuracy"].compute()) == pytest.approx(7 / 10)
    assert float(metrics["matthews"].compute()) == pytest.approx(float(mcc), rel=1e-5)


def test_regression_wrapper_reports_pearson_and_spearman_like_scipy(tokenizer, news_sentences):
    model = build_composer_model("hf_bert", "classification", num_labels=1, model_config=TINY)
    assert model.config.problem_type == "regression"
    batch = dict(tokenizer(news_sentences[:8], padding=True, return_tensors="pt"))
    batch["labels"] = torch.tensor([0.0, 1.2, 3.4, 2.2, 5.0, 4.1, 0.4, 2.2])
    scores = torch.tensor([0.3, 1.0, 2.5, 2.9, 4.2, 4.4, 0.1, 2.0])
    result = _compute(model, batch, scores)
    assert set(result) == {"pearson", "spearman"}
    assert result["pearson"] == pytest.approx(stats.pearsonr(scores, batch["labels"]).statistic, rel=1e-5)
    assert result["spearman"] == pytest.approx(stats.spearmanr(scores, batch["labels"]).statistic, rel=1e-5)


def test_classification_eval_forward_returns_class_ids_and_scores(tokenizer, news_sentences):
    batch = dict(tokenizer(news_sentences[:4], padding=True, return_tensors="pt"))
    for name in ("hf_bert", "mosaic_bert"):
        classifier = build_composer_model(name, "classification", num_labels=3, model_config=TINY).eval()
        regressor = build_composer_model(name, "classification", num_labels=1, model_config=TINY).eval()
        with torch.no_grad():
            logits = classifier.model(**batch).logits
            predictions = classifier.eval_forward(batch)
            scores = regressor.eval_forward(batch)
        assert predictions.dtype == torch.long and torch.equal(predictions, logits.argmax(-1))
        assert scores.shape == (4,) and scores.dtype == torch.float32
