"""Held-out MLM evaluation, identical for every arm, and the word-frequency (unigram) baseline
(frequencies from :mod:`mosaicbert.data.unigram`).

The held-out text is packed at each evaluated length; the first ``tokens // seq_len`` samples are read in
order and masked by one ``MLMMasker`` with a fixed seed and step, so every arm is scored on the same
tokens at the same masked positions, with the recipe's own MLM metrics through Composer's ``Trainer.eval``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import torch
from composer import Evaluator, Trainer

from mosaicbert.data.loaders import MLMLoaderConfig, build_mlm_dataloader
from mosaicbert.data.masking import IGNORE_INDEX, MLMMasker
from mosaicbert.models import build_composer_model
from mosaicbert.tokenizer import load_tokenizer
from mosaicbert.training import resolve_precision
from mosaicbert.training.schema import PretrainConfig

EVAL_STEP = 0  # the masker's fixed step for evaluation: same masks in every pass and for every arm


def heldout_loader_config(data_dir: str | Path) -> MLMLoaderConfig:
    """The held-out split read in order, nothing dropped, in this process."""
    return MLMLoaderConfig(local=str(data_dir), split="val", shuffle=False, drop_last=False, num_workers=0)


def heldout_plan(tokens: int, seq_len: int, batch_size: int) -> tuple[int, int]:
    """``(batch size, number of batches)`` covering ``tokens // seq_len`` samples (whole batches)."""
    samples = max(1, tokens // seq_len)
    batch = min(batch_size, samples)
    return batch, math.ceil(samples / batch)


def masked_heldout_batches(tokenizer, data_dir: str | Path, seq_len: int, tokens: int, batch_size: int,
                           rate: float, seed: int) -> Iterator[dict[str, torch.Tensor]]:
    """The evaluated batches exactly as the evaluation masks them (for baselines and tests)."""
    batch, num_batches = heldout_plan(tokens, seq_len, batch_size)
    masker = MLMMasker(tokenizer, rate, seed=seed, dynamic=False)
    masker.step = EVAL_STEP
    spec = build_mlm_dataloader(heldout_loader_config(data_dir), tokenizer, seq_len, batch, masker)
    for index, raw in enumerate(spec.dataloader):
        if index == num_batches:
            break
        yield masker(raw)


def heldout_mlm(cfg: PretrainConfig, checkpoint: str | None, data_dir: str | Path, seq_len: int, tokens: int,
                batch_size: int, rate: float, seed: int) -> dict[str, float]:
    """MLM cross-entropy, masked accuracy and masked-token count of ``checkpoint`` (an arm's model; ``None``:
    the arm's network freshly initialised) on the held-out samples."""
    trainer_precision, autocast_dtype = resolve_precision(cfg.precision, cfg.device_type)
    tokenizer = load_tokenizer(cfg.model.tokenizer_name)
    model = build_composer_model(cfg.model.name, "mlm", tokenizer_name=cfg.model.tokenizer_name,
                                 model_config=dict(cfg.model.model_config), init_from=checkpoint,
                                 autocast_dtype=autocast_dtype)
    batch, num_batches = heldout_plan(tokens, seq_len, batch_size)
    masker = MLMMasker(tokenizer, rate, seed=seed, dynamic=False)
    masker.step = EVAL_STEP
    spec = build_mlm_dataloader(heldout_loader_config(data_dir), tokenizer, seq_len, batch, masker)
    trainer = Trainer(model=model, eval_dataloader=Evaluator(label="heldout", dataloader=spec,
                                                             subset_num_batches=num_batches),
                      device=cfg.device_type, precision=trainer_precision, progress_bar=False,
                      log_to_console=False, loggers=[], seed=seed)
    try:
        trainer.eval()
        metrics = trainer.state.eval_metrics["heldout"]
        return {"cross_entropy": float(metrics["LanguageCrossEntropy"].compute()),
                "accuracy": float(metrics["MaskedAccuracy"].compute()),
                "masked_tokens": int(metrics["LanguageCrossEntropy"].total_items)}
    finally:
        trainer.close()


def unigram_baseline(log_probs: torch.Tensor, batches) -> dict[str, float]:
    """Cross-entropy and accuracy of always predicting the training corpus' word frequencies."""
    labels = torch.cat([b["labels"][b["labels"] != IGNORE_INDEX] for b in batches])
    return {"cross_entropy": float(-log_probs[labels].mean()),
            "accuracy": float((labels == log_probs.argmax()).double().mean()),
            "masked_tokens": int(labels.numel())}
