"""Both model names train with Composer's Trainer on CPU on real news text, and evaluate with their metrics."""

from __future__ import annotations

import math

import pytest
import torch
from composer import Trainer
from composer.loggers import InMemoryLogger
from composer.optim import DecoupledAdamW
from torch.utils.data import DataLoader
from transformers import DataCollatorForLanguageModeling, DataCollatorWithPadding

from mosaicbert.models.build import build_composer_model

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)


def _fit(model, train_loader, eval_loader, batches: int, lr: float) -> InMemoryLogger:
    logger = InMemoryLogger()
    trainer = Trainer(model=model, train_dataloader=train_loader, eval_dataloader=eval_loader,
                      max_duration=f"{batches}ba", eval_interval=f"{batches}ba",
                      optimizers=DecoupledAdamW(model.parameters(), lr=lr, weight_decay=0.0),
                      loggers=[logger], device="cpu", progress_bar=False, log_to_console=False, seed=17)
    trainer.fit()
    trainer.close()
    return logger


def _losses(logger: InMemoryLogger) -> list[float]:
    return [float(value) for _, value in logger.data["loss/train/total"]]


@pytest.mark.parametrize("name, autocast_dtype", [("hf_bert", None), ("mosaic_bert", "bf16")])
def test_mlm_trains_and_evaluates_on_news(name, autocast_dtype, tokenizer, news_sentences):
    torch.manual_seed(0)
    model = build_composer_model(name, "mlm", model_config=TINY, autocast_dtype=autocast_dtype)
    samples = [tokenizer(s, truncation=True, max_length=40) for s in news_sentences[:48]]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    train = DataLoader(samples[:16], batch_size=8, shuffle=True, collate_fn=collator)
    # ~300 masked eval tokens: after 8 steps a tiny model gets only a few right, 17 tokens could all be wrong
    evaluation = DataLoader(samples[16:], batch_size=16, collate_fn=collator)

    logger = _fit(model, train, evaluation, batches=8, lr=3e-3)

    losses = _losses(logger)
    assert len(losses) == 8 and all(math.isfinite(v) for v in losses)
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.3, losses
    eval_ce = float(logger.data["metrics/eval/LanguageCrossEntropy"][-1][1])
    eval_accuracy = float(logger.data["metrics/eval/MaskedAccuracy"][-1][1])
    assert eval_ce < math.log(tokenizer.vocab_size) - 0.3, eval_ce  # held-out text: better than a uniform guess
    assert 0.0 < eval_accuracy < 1.0


def test_classifier_fits_real_sentences_and_reports_metrics(tokenizer, news_sentences):
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "classification", num_labels=2, model_config=TINY)
    # A label the text determines: does the first sentence of the article mention a number?
    sentences = news_sentences[:16]
    samples = [dict(tokenizer(s, truncation=True, max_length=40), labels=int(any(c.isdigit() for c in s)))
               for s in sentences]
    assert 0 < sum(s["labels"] for s in samples) < len(samples)
    loader = DataLoader(samples, batch_size=8, collate_fn=DataCollatorWithPadding(tokenizer))

    logger = _fit(model, loader, loader, batches=8, lr=3e-3)

    losses = _losses(logger)
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2, losses
    results = {key.split("/")[-1]: float(values[-1][1]) for key, values in logger.data.items()
               if key.startswith("metrics/eval/")}
    assert set(results) == {"accuracy", "f1", "matthews"}
    assert all(-1.0 <= value <= 1.0 for value in results.values())
