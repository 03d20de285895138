"""Training batches: no text twice in a batch (an in-batch negative equal to the positive would be a false
negative), drawn by sentence-transformers' ``NoDuplicatesBatchSampler`` over the global batch, each rank taking
its slice; and the collation of every text column into its own padded token batch.

The sampler is a ``DistributedSampler`` to Composer's Trainer, which therefore calls ``set_epoch`` at every epoch,
also when it replays epochs on autoresume: each epoch is reshuffled, the same way after a restart.
"""

from __future__ import annotations

import datasets
import torch
from sentence_transformers.base.sampler import NoDuplicatesBatchSampler
from torch.utils.data import DataLoader, DistributedSampler
from transformers import PreTrainedTokenizerBase

from .pairs import SCORE, TextRows


class RankBatches(DistributedSampler):
    """Duplicate-free global batches of ``global_batch_size`` rows; rank ``rank`` of ``world_size`` gets every
    ``world_size``-th row of each (incomplete last batches are dropped on several ranks: equal shares)."""

    def __init__(self, dataset: datasets.Dataset, global_batch_size: int, *, seed: int, rank: int = 0,
                 world_size: int = 1):
        super().__init__(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        self.batches = NoDuplicatesBatchSampler(dataset, global_batch_size, drop_last=world_size > 1,
                                                valid_label_columns=[SCORE], seed=seed,
                                                generator=torch.Generator())  # seeded per epoch

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.batches.set_epoch(epoch)

    def __iter__(self):
        for batch in self.batches:
            yield batch[self.rank::self.num_replicas]

    def __len__(self) -> int:
        return len(self.batches)


class TextCollator:
    """Rows -> ``{"features": [one tokenized batch per text column], "labels": scores (or zeros)}``."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, columns: list[str], max_seq_len: int):
        self.tokenizer, self.columns, self.max_seq_len = tokenizer, columns, max_seq_len

    def __call__(self, rows: list[dict]) -> dict:
        features = [dict(self.tokenizer([row[c] for row in rows], padding=True, truncation=True,
                                        max_length=self.max_seq_len, return_tensors="pt"))
                    for c in self.columns]
        labels = torch.tensor([float(row.get(SCORE, 0.0)) for row in rows])
        return {"features": features, "labels": labels}


def rows_dataset(rows: TextRows) -> datasets.Dataset:
    columns = dict(rows.texts)
    if rows.scores is not None:
        columns[SCORE] = rows.scores
    return datasets.Dataset.from_dict(columns)


def training_loader(rows: TextRows, tokenizer: PreTrainedTokenizerBase, *, global_batch_size: int, max_seq_len: int,
                    seed: int, rank: int = 0, world_size: int = 1, num_workers: int = 0) -> DataLoader:
    dataset = rows_dataset(rows)
    return DataLoader(dataset, batch_sampler=RankBatches(dataset, global_batch_size, seed=seed, rank=rank,
                                                         world_size=world_size),
                      collate_fn=TextCollator(tokenizer, list(rows.texts), max_seq_len), num_workers=num_workers)
