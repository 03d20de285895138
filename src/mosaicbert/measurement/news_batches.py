"""The recipe's pretraining batches built from the bundled news in memory: articles tokenized, truncated and padded
to the sequence length, 30% MLM masking (the loader's masker, fixed seed)."""

from __future__ import annotations

import torch

from mosaicbert.data.masking import MLMMasker

PAD_TOKEN_ID = 0  # bert-base-uncased's [PAD]


def pad_batch(rows: list[list[int]], length: int, token_types: list[list[int]] | None = None) -> dict:
    """Right-pad token id lists to ``length`` (longer rows keep their first ``length - 1`` ids and the last)."""
    batch = {key: torch.zeros(len(rows), length, dtype=torch.long)
             for key in ("input_ids", "attention_mask", "token_type_ids")}
    for i, ids in enumerate(rows):
        if len(ids) > length:
            ids = ids[:length - 1] + ids[-1:]
        batch["input_ids"][i, :len(ids)] = torch.tensor(ids)
        batch["attention_mask"][i, :len(ids)] = 1
        if token_types is not None:
            batch["token_type_ids"][i, :len(ids)] = torch.tensor(token_types[i][:len(ids)])
    batch["input_ids"][batch["attention_mask"] == 0] = PAD_TOKEN_ID
    return batch


def news_batches(tokenizer, articles: list[str], seq_len: int, batch_size: int, count: int) -> list[dict]:
    """``count`` masked batches of ``batch_size`` articles, each truncated and padded to ``seq_len``."""
    masker = MLMMasker(tokenizer, rate=0.30, seed=17)
    ids = tokenizer(articles[:batch_size * count], truncation=True, max_length=seq_len)["input_ids"]
    return [masker(pad_batch(ids[i:i + batch_size], seq_len)) for i in range(0, len(ids), batch_size)]
