"""The same masked whole words under any vocabulary: nats per masked word, a loss that compares across tokenizers.

A loss per token does not compare across vocabularies (a vocabulary that cuts a word into more pieces has more,
easier tokens). Here the words to mask are chosen on the text itself, before any tokenizer sees it: words are
BERT's pre-tokenization units (whitespace and punctuation, as ``tokenization.fertility`` counts them), and in
each passage a seeded ``round(rate x words)`` of them (at least one) is masked. For a tokenizer, every piece whose
characters overlap a masked word becomes [MASK] and is scored; a word's loss is the sum of its pieces' losses, all
predicted at once from the unmasked context. Dividing the summed loss by the number of masked words gives nats
per masked word, the same words in every arm. For WordPiece a piece never crosses a word; a byte-level BPE piece
that spans punctuation (``'t``) joins its words.

Passages are the texts themselves, long texts cut into passages of at most ``words_per_passage`` words; a
passage longer than the sequence in any of the tokenizers compared is left out for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mosaicbert.data.masking import IGNORE_INDEX

Span = tuple[int, int]


@dataclass(frozen=True)
class Passage:
    text: str
    words: tuple[Span, ...]  # character spans of the passage's words
    masked: tuple[int, ...]  # indexes into ``words``


def word_spans(text: str) -> list[Span]:
    from tokenizers.pre_tokenizers import BertPreTokenizer

    return [span for _, span in BertPreTokenizer().pre_tokenize_str(text)]


def split_passages(texts: Sequence[str], words_per_passage: int) -> list[str]:
    """Every text, a long one cut between words into passages of at most ``words_per_passage`` words."""
    passages = []
    for text in texts:
        spans = word_spans(text)
        for first in range(0, len(spans), words_per_passage):
            chunk = spans[first:first + words_per_passage]
            passages.append(text[chunk[0][0]:chunk[-1][1]])
    return passages


def choose_masked_words(texts: Sequence[str], rate: float, seed: int) -> list[Passage]:
    """The words to mask in every passage: a function of the text's position, the seed and the rate only."""
    if not 0.0 < rate < 1.0:
        raise ValueError(f"the masking rate must be between 0 and 1, got {rate}")
    passages = []
    for index, text in enumerate(texts):
        spans = word_spans(text)
        if not spans:
            continue
        count = max(1, round(rate * len(spans)))
        chosen = np.random.default_rng([seed, index]).choice(len(spans), size=count, replace=False)
        passages.append(Passage(text, tuple(spans), tuple(sorted(int(i) for i in chosen))))
    return passages


def fitting(passages: Sequence[Passage], tokenizers: Sequence, seq_len: int) -> list[Passage]:
    """The passages every tokenizer fits in ``seq_len`` tokens with its [CLS] and [SEP]."""
    texts = [p.text for p in passages]
    fits = np.ones(len(passages), dtype=bool)
    for tokenizer in tokenizers:
        ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        fits &= np.array([len(row) <= seq_len - 2 for row in ids], dtype=bool)
    return [p for p, keep in zip(passages, fits) if keep]


def heldout_passages(texts: Sequence[str], tokenizers: Sequence, seq_len: int, *, rate: float, seed: int,
                     words_per_passage: int, max_words: int | None = None) -> list[Passage]:
    """Passages of ``texts`` that every tokenizer fits, with their masked words; the first ones up to
    ``max_words`` words in all (None: every passage)."""
    kept = fitting(choose_masked_words(split_passages(texts, words_per_passage), rate, seed), tokenizers, seq_len)
    if max_words is not None:
        words = np.cumsum([len(p.words) for p in kept])
        kept = kept[:int(np.searchsorted(words, max_words)) + 1]
    if not kept:
        raise ValueError(f"no passage fits {seq_len} tokens in every tokenizer")
    return kept


class MaskedWordSamples(Dataset):
    """``passages`` in one tokenizer, their masked words' pieces replaced by [MASK] and labelled (pre-masked
    samples for ``evaluation.heldout_mlm.heldout_mlm``), padded to ``seq_len``."""

    def __init__(self, tokenizer, passages: Sequence[Passage], seq_len: int) -> None:
        encoded = tokenizer([p.text for p in passages], add_special_tokens=False, return_offsets_mapping=True,
                            verbose=False)
        self.rows: list[tuple[list[int], list[int]]] = []
        self.masked_words = sum(len(p.masked) for p in passages)
        for passage, ids, offsets in zip(passages, encoded["input_ids"], encoded["offset_mapping"]):
            if len(ids) > seq_len - 2:
                raise ValueError(f"a passage of {len(ids)} tokens does not fit {seq_len} (use heldout_passages)")
            spans = [passage.words[i] for i in passage.masked]
            hit = [any(start < end_w and start_w < end for start_w, end_w in spans) for start, end in offsets]
            inputs = [tokenizer.mask_token_id if h else i for i, h in zip(ids, hit)]
            labels = [i if h else IGNORE_INDEX for i, h in zip(ids, hit)]
            self.rows.append(([tokenizer.cls_token_id, *inputs, tokenizer.sep_token_id],
                              [IGNORE_INDEX, *labels, IGNORE_INDEX]))
        self.seq_len, self.pad_id = seq_len, tokenizer.pad_token_id

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids, labels = self.rows[index]
        pad = self.seq_len - len(ids)
        return {"input_ids": torch.tensor(ids + [self.pad_id] * pad),
                "attention_mask": torch.tensor([1] * len(ids) + [0] * pad),
                "token_type_ids": torch.zeros(self.seq_len, dtype=torch.long),
                "labels": torch.tensor(labels + [IGNORE_INDEX] * pad)}

    def real_tokens(self) -> int:
        return sum(len(ids) for ids, _ in self.rows)

    def masked_pieces(self) -> int:
        return sum(sum(label != IGNORE_INDEX for label in labels) for _, labels in self.rows)


def nats_per_word(scores: dict[str, float], samples: MaskedWordSamples) -> dict[str, float]:
    """``heldout_mlm``'s scores of ``samples`` as nats per masked word (its CE is per masked piece)."""
    total = scores["cross_entropy"] * scores["masked_tokens"]
    return {"nats_per_word": total / samples.masked_words, "masked_words": samples.masked_words,
            "masked_pieces": scores["masked_tokens"], "pieces_per_masked_word": scores["masked_tokens"] /
            samples.masked_words, "cross_entropy_per_piece": scores["cross_entropy"],
            "piece_accuracy": scores["accuracy"]}
