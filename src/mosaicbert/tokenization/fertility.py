"""Fertility: sub-word pieces per word, the length cost of a vocabulary on a text (PubMedBERT's measure of a
vocabulary fitting its domain: fewer pieces per word, shorter inputs, more text per sequence).

Words are counted the same way for every tokenizer (BERT's pre-tokenization: whitespace and punctuation), so the
fertilities of two vocabularies on one text compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Fertility:
    words: int
    pieces: int

    @property
    def per_word(self) -> float:
        return self.pieces / max(self.words, 1)


def count_words(texts: Sequence[str]) -> int:
    from tokenizers.pre_tokenizers import BertPreTokenizer

    split = BertPreTokenizer()
    return sum(len(split.pre_tokenize_str(text)) for text in texts)


def fertility(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> Fertility:
    """Pieces (special tokens left out) and words of ``texts``."""
    encoded = tokenizer(list(texts), add_special_tokens=False, return_attention_mask=False,
                        return_token_type_ids=False, verbose=False)["input_ids"]
    return Fertility(words=count_words(texts), pieces=sum(map(len, encoded)))
