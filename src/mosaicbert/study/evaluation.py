"""The study's held-out MLM: an arm's checkpoint scored by ``mosaicbert.evaluation.heldout_mlm`` (the same samples
and masks for every arm, the configured token count on any number of ranks), and the word-frequency (unigram)
baseline on exactly those masked tokens (frequencies from :mod:`mosaicbert.data.unigram`)."""

from __future__ import annotations

from pathlib import Path

import torch

from mosaicbert.evaluation.heldout_mlm import heldout_mlm, heldout_samples, masked_batches, unigram_baseline
from mosaicbert.models import build_composer_model
from mosaicbert.tokenizer import load_tokenizer
from mosaicbert.training import resolve_precision
from mosaicbert.training.schema import PretrainConfig


def arm_heldout_mlm(cfg: PretrainConfig, checkpoint: str | None, data_dir: str | Path, seq_len: int, tokens: int,
                    batch_size: int, rate: float, seed: int) -> dict[str, float]:
    """Held-out scores of ``checkpoint`` (an arm's model; ``None``: the arm's network freshly initialised)."""
    trainer_precision, autocast_dtype = resolve_precision(cfg.precision, cfg.device_type)
    tokenizer = load_tokenizer(cfg.model.tokenizer_name)
    model = build_composer_model(cfg.model.name, "mlm", tokenizer_name=cfg.model.tokenizer_name,
                                 model_config=dict(cfg.model.model_config), init_from=checkpoint,
                                 autocast_dtype=autocast_dtype)
    return heldout_mlm(model, tokenizer, heldout_samples(tokenizer, data_dir, seq_len, tokens), batch_size=batch_size,
                       rate=rate, seed=seed, device=cfg.device_type, precision=trainer_precision)


def unigram_heldout(log_probs: torch.Tensor, tokenizer, data_dir: str | Path, seq_len: int, tokens: int,
                    batch_size: int, rate: float, seed: int) -> dict[str, float]:
    """The unigram baseline on the held-out samples the arms are scored on, masked as they are masked."""
    samples = heldout_samples(tokenizer, data_dir, seq_len, tokens)
    return unigram_baseline(log_probs, masked_batches(samples, tokenizer, batch_size, rate, seed))
