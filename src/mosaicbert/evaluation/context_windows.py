"""The same held-out tokens scored with more or less context: what "CE at 2,048 tokens" should mean.

Each long document's first ``content_tokens`` tokens are masked once (the evaluation masker, as everywhere) and
then cut, for each evaluation length L, into consecutive windows of L - 2 tokens between [CLS] and [SEP]. Every
length therefore scores exactly the same masked tokens with the same replacements; only the context a token
can see changes (at 128 a token sees its 126-token window, at 2,048 the whole 2,046-token stretch). Packing
documents into rows instead would add other documents' text, not context.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch.utils.data import Dataset

from mosaicbert.data.masking import IGNORE_INDEX

from .heldout_mlm import eval_masker


def long_documents(tokenizer, texts: Sequence[str], content_tokens: int) -> torch.Tensor:
    """The first ``content_tokens`` token ids (no special tokens) of every text at least that long: [D, N]."""
    ids = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    kept = [row[:content_tokens] for row in ids if len(row) >= content_tokens]
    if not kept:
        raise ValueError(f"no document has {content_tokens} tokens")
    return torch.tensor(kept, dtype=torch.long)


def mask_documents(tokenizer, documents: torch.Tensor, rate: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked ids and labels of ``documents`` (each masked as one [CLS] doc [SEP] sample, the specials dropped)."""
    rows = len(documents)
    framed = torch.cat([torch.full((rows, 1), tokenizer.cls_token_id), documents,
                        torch.full((rows, 1), tokenizer.sep_token_id)], dim=1)
    masked = eval_masker(tokenizer, rate, seed)({"input_ids": framed, "attention_mask": torch.ones_like(framed)})
    return masked["input_ids"][:, 1:-1], masked["labels"][:, 1:-1]


class ContextWindows(Dataset):
    """Pre-masked windows of ``length`` tokens over masked documents, in document order (the last one padded)."""

    def __init__(self, tokenizer, masked_ids: torch.Tensor, labels: torch.Tensor, length: int) -> None:
        if length < 3:
            raise ValueError(f"a window of {length} tokens holds no text between [CLS] and [SEP]")
        self.tokenizer, self.masked_ids, self.labels, self.length = tokenizer, masked_ids, labels, length
        self.per_document = -(-masked_ids.shape[1] // (length - 2))

    def __len__(self) -> int:
        return len(self.masked_ids) * self.per_document

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        document, window = divmod(index, self.per_document)
        span = slice(window * (self.length - 2), (window + 1) * (self.length - 2))
        text, labels = self.masked_ids[document, span], self.labels[document, span]
        pad = self.length - 2 - len(text)
        t = self.tokenizer
        input_ids = torch.cat([torch.tensor([t.cls_token_id]), text, torch.tensor([t.sep_token_id]),
                               torch.full((pad,), t.pad_token_id)])
        return {"input_ids": input_ids,
                "attention_mask": (torch.arange(self.length) < len(text) + 2).long(),
                "token_type_ids": torch.zeros(self.length, dtype=torch.long),
                "labels": torch.cat([torch.tensor([IGNORE_INDEX]), labels, torch.full((pad + 1,), IGNORE_INDEX)])}

    def real_tokens(self) -> int:
        """Tokens that are not padding, over every window."""
        return len(self.masked_ids) * (self.masked_ids.shape[1] + 2 * self.per_document)


def windows_by_length(tokenizer, texts: Sequence[str], lengths: Sequence[int], documents: int, rate: float,
                      seed: int) -> tuple[dict[int, ContextWindows], dict]:
    """Windows at every length over the first ``documents`` texts long enough for the longest, and what they hold."""
    kept = long_documents(tokenizer, texts, max(lengths) - 2)[:documents]
    masked, labels = mask_documents(tokenizer, kept, rate, seed)
    windows = {n: ContextWindows(tokenizer, masked, labels, n) for n in lengths}
    return windows, {"documents": len(kept), "held_out_texts": len(texts), "tokens_per_document": kept.shape[1],
                     "masked_tokens": int((labels != IGNORE_INDEX).sum()),
                     "windows": {str(n): len(w) for n, w in windows.items()}}
