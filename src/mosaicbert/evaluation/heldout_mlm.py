"""Held-out MLM scoring: one fixed sample set, one fixed masker, the same counts on any number of ranks.

The evaluated samples are the first ``tokens // seq_len`` of a held-out MDS split, read by index (not through
Streaming's per-rank shards), so a 1-rank and an 8-rank evaluation score the same samples. Masks come from
an ``MLMMasker`` with a fixed seed and step: a pure function of each sample's token ids, so every model and
every baseline sees the same masked positions whatever the batch or rank a sample lands in. Under the
Composer launcher the samples are split over ranks by a ``DistributedSampler`` (Composer drops its padding
repeats) and the metrics' sums are all-reduced: the work is done once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import torch
from composer import Callback, Evaluator, State, Trainer
from composer.core import DataSpec
from composer.loggers import Logger
from composer.utils import dist
from torch.utils.data import DataLoader, Dataset

from mosaicbert.data.loaders import MLMLoaderConfig, build_text_dataset, count_real_tokens
from mosaicbert.data.masking import IGNORE_INDEX, MLMMasker
from mosaicbert.warnings_silenced import silenced

EVAL_STEP = 0  # the masker's fixed step for evaluation: same masks in every pass and for every model
# Composer's warnings an evaluation-only Trainer gives by design: no optimizer, a last batch shorter than the rest
EXPECTED_WARNINGS = ("No optimizer was specified", "Cannot split tensor of length")


class HeldOutSamples(Dataset):
    """The first ``count`` samples of an MDS split, by global index: the same set on every rank."""

    def __init__(self, dataset: Any, count: int) -> None:
        self.dataset, self.count = dataset, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self.dataset[index]

    def real_tokens(self) -> int:
        """Tokens that are not padding, over the whole set."""
        return sum(int(self[i]["attention_mask"].sum()) for i in range(self.count))


def heldout_samples(tokenizer, data_dir: str | Path, seq_len: int, tokens: int | None = None,
                    split: str | None = "val") -> HeldOutSamples:
    """The first ``tokens // seq_len`` samples (at least one; ``None``: all) of ``data_dir/split`` at ``seq_len``."""
    dataset = build_text_dataset(MLMLoaderConfig(local=str(data_dir), split=split, shuffle=False,
                                                 num_canonical_nodes=None), tokenizer, seq_len, 1)
    available = int(dataset.num_samples)  # every rank's samples (``len`` is this rank's share)
    return HeldOutSamples(dataset, available if tokens is None else min(available, max(1, tokens // seq_len)))


def eval_masker(tokenizer, rate: float, seed: int) -> MLMMasker:
    """The evaluation masker: fixed rate, seed and step."""
    masker = MLMMasker(tokenizer, rate, seed=seed, dynamic=False)
    masker.step = EVAL_STEP
    return masker


def masked_batches(samples: HeldOutSamples, tokenizer, batch_size: int, rate: float,
                   seed: int) -> Iterator[dict[str, torch.Tensor]]:
    """Every evaluated sample, in this process, masked exactly as the evaluation masks it (baselines, tests)."""
    masker = eval_masker(tokenizer, rate, seed)
    for batch in DataLoader(samples, batch_size=batch_size, shuffle=False):
        yield masker(batch)


class EvalProgress(Callback):
    """A tqdm bar over the evaluation batches (rank 0): long evaluations show how far they are."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.description, self.bar = total, description, None

    def eval_start(self, state: State, logger: Logger) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, desc=self.description, unit="batch", leave=False,
                        disable=dist.get_global_rank() != 0)

    def eval_batch_end(self, state: State, logger: Logger) -> None:
        self.bar.update(1)

    def eval_end(self, state: State, logger: Logger) -> None:
        self.bar.close()


def _global_sum(value: torch.Tensor) -> int:
    total = value.detach().clone().double()
    dist.all_reduce(total)  # no-op on one process
    return int(total.item())


def heldout_mlm(model, tokenizer, samples: HeldOutSamples, *, batch_size: int, rate: float, seed: int,
                device: str, precision: str, progress: str | None = None,
                premasked: bool = False) -> dict[str, float]:
    """MLM cross-entropy and masked accuracy of ``model`` (an MLM ``ComposerModel``) on ``samples`` through
    Composer's ``Trainer.eval``, with the counts scored (samples, real and masked tokens, over all ranks).
    ``progress``: a tqdm bar with this description. ``premasked``: samples carry their own ``labels``
    (:mod:`.context_windows`); otherwise the evaluation masker masks them."""
    sampler = dist.get_sampler(samples, shuffle=False, drop_last=False)
    loader = DataLoader(samples, batch_size=batch_size, sampler=sampler)
    spec = DataSpec(loader, microbatch_transforms=None if premasked else eval_masker(tokenizer, rate, seed),
                    get_num_tokens_in_batch=count_real_tokens)
    callbacks = [EvalProgress(len(loader), progress)] if progress else []
    with silenced(EXPECTED_WARNINGS):
        trainer = Trainer(model=model, eval_dataloader=Evaluator(label="heldout", dataloader=spec),
                          device=device, precision=precision, progress_bar=False, log_to_console=False, loggers=[],
                          callbacks=callbacks, seed=seed)
        return _scores(trainer, samples)


def _scores(trainer: Trainer, samples: HeldOutSamples) -> dict[str, float]:
    try:
        trainer.eval()
        metrics = trainer.state.eval_metrics["heldout"]
        return {"cross_entropy": float(metrics["LanguageCrossEntropy"].compute()),
                "accuracy": float(metrics["MaskedAccuracy"].compute()),
                "samples": len(samples), "real_tokens": samples.real_tokens(),
                "masked_tokens": _global_sum(metrics["LanguageCrossEntropy"].total_items)}
    finally:
        trainer.close()


def unigram_baseline(log_probs: torch.Tensor, batches) -> dict[str, float]:
    """Cross-entropy and accuracy of always predicting a corpus' word frequencies on the masked tokens."""
    labels = torch.cat([b["labels"][b["labels"] != IGNORE_INDEX] for b in batches])
    return {"cross_entropy": float(-log_probs[labels].mean()),
            "accuracy": float((labels == log_probs.argmax()).double().mean()),
            "masked_tokens": int(labels.numel())}
