"""Sentences -> model inputs: every word's sub-words, in windows of at most ``max_seq_len`` tokens, so that no
word goes unscored (a long sentence is split between words, never truncated).

Sub-words are mapped to words through the fast tokenizer's character offsets on the sentence's words joined by
spaces: the same text a user gives the exported model (pipeline), and it works alike for WordPiece and byte-level
BPE (no ``is_split_into_words``, which ModernBERT's tokenizer refuses without ``add_prefix_space``). The first
sub-word of each word carries its label, the rest ``IGNORE_INDEX`` (or, with ``label_all_tokens``, the word's
continuation tag); a word whose text the tokenizer drops entirely (no sub-word) is predicted ``O``.
Each window keeps ``word_ids`` (the word a first sub-word starts, -1 elsewhere) and its ``sentence_index``: the
metric puts each sentence back together from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from mosaicbert.architecture import IGNORE_INDEX

from .sentences import Sentences
from .tag_schemes import continuation_tag

NO_WORD = -1


@dataclass(frozen=True)
class Labels:
    """The tag names in id order, and the scheme they are written in."""

    names: tuple[str, ...]
    scheme: str

    def id_of(self, tag: str) -> int:
        return self.names.index(tag)


def word_pieces(words: tuple[str, ...], tokenizer: PreTrainedTokenizerBase) -> list[list[int]]:
    """Token ids of each word, read from the offsets of the words joined by single spaces."""
    return _pieces_of_words(words, tokenizer(" ".join(words), add_special_tokens=False, return_offsets_mapping=True))


def _pieces_of_words(words: tuple[str, ...], encoded) -> list[list[int]]:
    """Each word's token ids from one encoding of the joined words (``input_ids``, ``offset_mapping``)."""
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    pieces: list[list[int]] = [[] for _ in words]
    word = 0
    for token, (begin, end) in zip(encoded["input_ids"], encoded["offset_mapping"]):
        if end <= begin:
            continue
        while word + 1 < len(words) and begin >= starts[word + 1] - 1:
            word += 1  # the space before a word belongs to it (byte-level BPE's 'Ġ')
        pieces[word].append(token)
    return pieces


def sentence_windows(sentences: Sentences, tokenizer: PreTrainedTokenizerBase, labels: Labels, max_seq_len: int,
                     label_all_tokens: bool = False) -> list[dict]:
    """The model inputs of every sentence: one window, or several when its sub-words do not fit ``max_seq_len``."""
    prefix, suffix = special_tokens_around(tokenizer)
    budget = max_seq_len - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(f"max_seq_len={max_seq_len} leaves no room for a word beside the special tokens")
    features = []
    # one call of the fast tokenizer for every sentence (batched in Rust), not one per sentence
    encoded = tokenizer([" ".join(sentence.words) for sentence in sentences.items], add_special_tokens=False,
                        return_offsets_mapping=True)
    for index, sentence in enumerate(sentences.items):
        pieces = _pieces_of_words(sentence.words, {key: encoded[key][index]
                                                   for key in ("input_ids", "offset_mapping")})
        window: list[int] = []
        window_labels: list[int] = []
        window_words: list[int] = []
        for word, (ids, tag) in enumerate(zip(pieces, sentence.tags)):
            ids = ids[:budget]  # one word longer than a window: its first sub-word is what is scored
            if window and len(window) + len(ids) > budget:
                features.append(_feature(prefix, suffix, window, window_labels, window_words, index))
                window, window_labels, window_words = [], [], []
            rest = (labels.id_of(continuation_tag(tag, labels.scheme)) if label_all_tokens else IGNORE_INDEX)
            for position, token in enumerate(ids):
                window.append(token)
                window_labels.append(labels.id_of(tag) if position == 0 else rest)
                window_words.append(word if position == 0 else NO_WORD)
        if window or not features or features[-1]["sentence_index"] != index:
            features.append(_feature(prefix, suffix, window, window_labels, window_words, index))
    return features


def special_tokens_around(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a single text (BERT: [CLS] ... [SEP]), read from the
    tokenizer's own post-processing of a one-word text."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    start = next(i for i in range(len(full) - len(plain) + 1) if full[i:i + len(plain)] == plain)
    return full[:start], full[start + len(plain):]


def _feature(prefix: list[int], suffix: list[int], ids: list[int], labels: list[int], words: list[int],
             sentence: int) -> dict:
    """One window with the special tokens around it; they are unlabelled and belong to no word."""
    input_ids = prefix + ids + suffix
    outside = [IGNORE_INDEX] * len(prefix), [IGNORE_INDEX] * len(suffix)
    token_labels = outside[0] + labels + outside[1]
    token_words = [NO_WORD] * len(prefix) + words + [NO_WORD] * len(suffix)
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "token_type_ids": [0] * len(input_ids),
            "labels": token_labels, "word_ids": token_words, "sentence_index": sentence}


def collate_windows(pad_token_id: int):
    """Pads a list of windows to the longest: ``pad_token_id``, mask 0, labels ``IGNORE_INDEX``, words -1."""
    fills = {"input_ids": pad_token_id, "attention_mask": 0, "token_type_ids": 0, "labels": IGNORE_INDEX,
             "word_ids": NO_WORD}

    def collate(windows: list[dict]) -> dict[str, torch.Tensor]:
        length = max(len(window["input_ids"]) for window in windows)
        batch = {key: torch.tensor([window[key] + [fill] * (length - len(window[key])) for window in windows])
                 for key, fill in fills.items()}
        batch["sentence_index"] = torch.tensor([window["sentence_index"] for window in windows])
        return batch

    return collate
