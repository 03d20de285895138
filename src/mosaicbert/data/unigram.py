"""Word frequencies of a training corpus: the word-frequency (unigram) baseline and the MLM bias prior."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from .loaders import MLMLoaderConfig, build_text_dataset


def unigram_log_probs(tokenizer: PreTrainedTokenizerBase, loader: MLMLoaderConfig | str | Path, seq_len: int,
                      max_samples: int | None = None, split: str = "train") -> torch.Tensor:
    """log p(token) over ``len(tokenizer)`` ids from the first ``max_samples`` samples of one MDS dataset, read
    in order (a loader section, or a local directory and ``split``); add-one smoothed, special tokens -inf
    (never a label)."""
    if isinstance(loader, (str, Path)):
        loader = MLMLoaderConfig(local=str(loader), split=split)
    dataset = build_text_dataset(replace(loader, shuffle=False), tokenizer, seq_len, 64)
    samples = range(len(dataset) if max_samples is None else min(max_samples, len(dataset)))
    counts = torch.zeros(len(tokenizer), dtype=torch.float64)
    for i in samples:
        sample = dataset[i]
        counts += torch.bincount(sample["input_ids"][sample["attention_mask"].bool()], minlength=len(tokenizer))
    counts += 1.0
    counts[torch.tensor(tokenizer.all_special_ids)] = 0.0
    return (counts / counts.sum()).log()
