"""The studies' held-out MLM: an arm's checkpoint scored by ``mosaicbert.evaluation.heldout_mlm`` (the same samples
and masks for every arm, the configured token count on any number of ranks), the same masked tokens with more or
less context (:mod:`mosaicbert.evaluation.context_windows`), the same masked whole words in any vocabulary
(:mod:`mosaicbert.evaluation.masked_words`), and the word-frequency (unigram) baseline on exactly
those masked tokens (frequencies from :mod:`mosaicbert.data.unigram`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from mosaicbert.evaluation.heldout_mlm import heldout_mlm, heldout_samples, masked_batches, unigram_baseline
from mosaicbert.evaluation.masked_words import MaskedWordSamples, Passage, nats_per_word
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.precision import resolve_precision
from mosaicbert.tokenizer import load_tokenizer
from mosaicbert.training.schema import PretrainConfig


def _arm_model(cfg: PretrainConfig, checkpoint: str | None):
    """``checkpoint``'s MLM model (an arm's; ``None``: the arm's network freshly initialised), its tokenizer and
    the trainer precision it is evaluated in."""
    trainer_precision, autocast_dtype = resolve_precision(cfg.precision, cfg.device_type)
    model = build_composer_model(cfg.model.name, "mlm", tokenizer_name=cfg.model.tokenizer_name,
                                 model_config=dict(cfg.model.model_config), init_from=checkpoint,
                                 autocast_dtype=autocast_dtype)
    return model, load_tokenizer(cfg.model.tokenizer_name), trainer_precision


def arm_heldout_mlm(cfg: PretrainConfig, checkpoint: str | None, data_dir: str | Path, seq_len: int, tokens: int,
                    batch_size: int, rate: float, seed: int) -> dict[str, float]:
    """Held-out scores of ``checkpoint`` on the first ``tokens`` of ``data_dir`` packed at ``seq_len``."""
    model, tokenizer, precision = _arm_model(cfg, checkpoint)
    return heldout_mlm(model, tokenizer, heldout_samples(tokenizer, data_dir, seq_len, tokens), batch_size=batch_size,
                       rate=rate, seed=seed, device=cfg.device_type, precision=precision)


def arm_mlm_by_length(cfg: PretrainConfig, checkpoint: str, windows: Mapping[int, Any], batch_size: int, rate: float,
                      seed: int) -> dict[str, Any]:
    """CE and accuracy of ``checkpoint`` on pre-masked context windows at every length its family can take; the
    longer ones listed as skipped, with the reason."""
    model, tokenizer, precision = _arm_model(cfg, checkpoint)
    capacity = MODEL_REGISTRY[cfg.model.name].max_length(model.model.config)
    by_length, skipped = {}, {}
    for n, samples in windows.items():
        if capacity is not None and n > capacity:
            skipped[str(n)] = f"longer than the {capacity}-position table"
            continue
        by_length[str(n)] = heldout_mlm(model, tokenizer, samples, batch_size=batch_size, rate=rate, seed=seed,
                                        device=cfg.device_type, precision=precision, premasked=True)
    return {"by_length": by_length, "skipped": skipped}


def unigram_heldout(log_probs: torch.Tensor, tokenizer, data_dir: str | Path, seq_len: int, tokens: int,
                    batch_size: int, rate: float, seed: int) -> dict[str, float]:
    """The unigram baseline on the held-out samples the arms are scored on, masked as they are masked."""
    samples = heldout_samples(tokenizer, data_dir, seq_len, tokens)
    return unigram_baseline(log_probs, masked_batches(samples, tokenizer, batch_size, rate, seed))


def arm_masked_words(cfg: PretrainConfig, checkpoint: str, passages: Sequence[Passage], batch_size: int,
                     seed: int) -> dict[str, float]:
    """Nats per masked word of ``checkpoint`` on ``passages`` (their masked words, in the arm's vocabulary)."""
    model, tokenizer, precision = _arm_model(cfg, checkpoint)
    samples = MaskedWordSamples(tokenizer, passages, cfg.max_seq_len)
    scores = heldout_mlm(model, tokenizer, samples, batch_size=batch_size, rate=0.0, seed=seed,
                         device=cfg.device_type, precision=precision, premasked=True)
    return nats_per_word(scores, samples)
