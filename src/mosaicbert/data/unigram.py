"""Word frequencies of a training corpus: the word-frequency (unigram) baseline and the MLM bias prior."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from .loaders import MLMLoaderConfig, build_text_dataset

COUNT_CHUNK = 4096  # samples whose token ids are counted together


def unigram_log_probs(tokenizer: PreTrainedTokenizerBase, loader: MLMLoaderConfig | str | Path, seq_len: int,
                      max_samples: int | None = None, split: str = "train") -> torch.Tensor:
    """log p(token) over ``len(tokenizer)`` ids from the first ``max_samples`` samples of one MDS dataset, read
    in order (a loader section, or a local directory and ``split``); add-one smoothed, special tokens -inf
    (never a label)."""
    if isinstance(loader, (str, Path)):
        loader = MLMLoaderConfig(local=str(loader), split=split)
    dataset = build_text_dataset(replace(loader, shuffle=False), tokenizer, seq_len, 64)
    total = int(dataset.num_samples)  # every rank's samples (len() is this rank's share)
    samples = range(total if max_samples is None else min(max_samples, total))
    counts = torch.ones(len(tokenizer), dtype=torch.float64)  # add-one smoothing
    for start in range(0, len(samples), COUNT_CHUNK):  # one bincount per chunk, not per sample
        chunk = [dataset[i] for i in samples[start:start + COUNT_CHUNK]]
        ids = torch.cat([sample["input_ids"][sample["attention_mask"].bool()] for sample in chunk])
        counts += torch.bincount(ids, minlength=len(tokenizer))
    counts[torch.tensor(tokenizer.all_special_ids)] = 0.0
    return (counts / counts.sum()).log()
