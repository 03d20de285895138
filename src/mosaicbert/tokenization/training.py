"""Learning a vocabulary from a stream of documents with the ``tokenizers`` trainers, and saving it as a tokenizer
folder that every part of the recipe loads unchanged (convert_dataset.py --tokenizer, main.py
model.tokenizer_name=, fine-tuning, exports).

Documents are streamed in batches (a corpus larger than memory trains as well); the folder is staged and renamed,
so it is complete or absent.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from mosaicbert import exit_codes
from mosaicbert.tokenization.families import SPECIAL_TOKENS, TOKENIZER_FAMILIES, TokenizerFamily, finish

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

BATCH = 1_000  # documents handed to the trainer at once


class VocabularyError(Exception):
    """A vocabulary that cannot be learnt as asked (size, family, empty corpus, output in the way): fix the command."""

    exit_code = exit_codes.USAGE


def family_of(algorithm: str) -> TokenizerFamily:
    if algorithm not in TOKENIZER_FAMILIES:
        raise VocabularyError(f"unknown algorithm {algorithm!r}; choose from {', '.join(TOKENIZER_FAMILIES)}")
    return TOKENIZER_FAMILIES[algorithm]


def check_vocab_size(family: TokenizerFamily, vocab_size: int) -> None:
    """Refuse a size the family cannot hold: below its special tokens, or below the alphabet it always keeps."""
    if vocab_size <= len(SPECIAL_TOKENS):
        raise VocabularyError(f"--vocab_size {vocab_size} is below the {len(SPECIAL_TOKENS)} special tokens "
                              f"({' '.join(SPECIAL_TOKENS)}) plus at least one piece")
    if vocab_size < family.min_vocab_size():
        raise VocabularyError(f"--vocab_size {vocab_size} does not fit a {family.description} vocabulary: it keeps "
                              f"{family.kept_alphabet} byte pieces and {len(SPECIAL_TOKENS)} special tokens "
                              f"(at least {family.min_vocab_size()})")


def _batches(documents: Iterable[str], description: str) -> Iterator[list[str]]:
    """Non-empty documents in batches; a source without any is an error (nothing to learn from)."""
    texts = (d for d in documents if isinstance(d, str) and d.strip())
    first = next(texts, None)
    if first is None:
        raise VocabularyError(f"empty source: {description} has no documents to learn a vocabulary from")
    texts = itertools.chain([first], texts)
    while batch := list(itertools.islice(texts, BATCH)):
        yield batch


def learn_vocabulary(documents: Iterable[str], algorithm: str, vocab_size: int, cased: bool | None = None,
                     description: str = "the corpus", show_progress: bool = False) -> PreTrainedTokenizerFast:
    """A ``vocab_size``-entry tokenizer of family ``algorithm`` learnt from ``documents`` (``cased``: None is the
    family's default)."""
    family = family_of(algorithm)
    check_vocab_size(family, vocab_size)
    cased = family.cased if cased is None else cased
    tokenizer = family.pipeline(cased)
    tokenizer.train_from_iterator(_batches(documents, description), trainer=family.trainer(vocab_size, show_progress))
    learnt = tokenizer.get_vocab_size()
    if learnt > vocab_size:  # WordPiece keeps every character of the corpus's alphabet (up to 1,000)
        raise VocabularyError(f"--vocab_size {vocab_size} does not fit this corpus's {family.description}: its "
                              f"alphabet and special tokens alone take {learnt} entries")
    return finish(family, tokenizer, cased)


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write the tokenizer folder ``out_dir`` whole (staged beside it, then renamed)."""
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not overwrite:
        raise VocabularyError(f"--out {out_dir} already exists (use --overwrite to replace it)")
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tokenizer.save_pretrained(str(staging))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir

