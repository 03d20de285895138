"""Where words start, per vocabulary id: what whole-word masking (data/masking.py) needs to know of a tokenizer.

Two tables over the vocabulary, built once from the tokens' text and moved to the device once:

* ``joins`` - the piece continues the word before it: WordPiece's ``##`` pieces; in byte-level BPE a piece that
  does not begin with whitespace (no leading-space marker ``Ġ``, nor a newline or tab byte).
* ``ends_word`` - the piece ends with whitespace (byte-level BPE's ``Ċ`` newline pieces), so whatever follows
  starts a new word even without a marker of its own (GPT-2's pre-tokenization gives ``"\\nThe"`` no ``Ġ``).

Registry ``WORD_RULES``: the ``tokenizers`` model type -> the rule. Special tokens are never part of a word.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable

import torch

from mosaicbert import exit_codes

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class WordBoundaryError(ValueError):
    """A tokenizer whose word starts cannot be read from its tokens: whole-word masking cannot run with it."""

    exit_code = exit_codes.USAGE


def _wordpiece(tokenizer: PreTrainedTokenizerBase, tokens: list[str]) -> tuple[list[bool], list[bool]]:
    prefix = json.loads(tokenizer.backend_tokenizer.model.__getstate__())["continuing_subword_prefix"] or "##"
    return [t.startswith(prefix) for t in tokens], [False] * len(tokens)


def _byte_level_bpe(tokenizer: PreTrainedTokenizerBase, tokens: list[str]) -> tuple[list[bool], list[bool]]:
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    pre = state.get("pre_tokenizer") or {}
    kinds = {pre.get("type")} | {p.get("type") for p in pre.get("pretokenizers", [])}
    if "ByteLevel" not in kinds:
        raise WordBoundaryError(f"masking.whole_word: {tokenizer.name_or_path} is a BPE tokenizer without byte-level "
                                "pre-tokenization; whole-word masking knows WordPiece ('##') and byte-level BPE ('Ġ')")
    decoder = tokenizer.backend_tokenizer.decoder
    text = [decoder.decode([t]) for t in tokens]
    return [not (t[:1].isspace()) for t in text], [t[-1:].isspace() for t in text]


WORD_RULES: dict[str, Callable[..., tuple[list[bool], list[bool]]]] = {
    "WordPiece": _wordpiece,
    "BPE": _byte_level_bpe,
}


def word_boundary_tables(tokenizer: PreTrainedTokenizerBase) -> tuple[torch.Tensor, torch.Tensor]:
    """``(joins, ends_word)``: bool tensors of ``len(tokenizer)`` entries (see the module doc)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    kind = json.loads(backend.model.__getstate__()).get("type") if backend is not None else None
    if kind not in WORD_RULES:
        raise WordBoundaryError(f"masking.whole_word: cannot tell where words start with {tokenizer.name_or_path} "
                                f"(a {kind or type(tokenizer).__name__} tokenizer); whole-word masking knows "
                                + " and ".join(WORD_RULES) + " tokenizers")
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    joins, ends_word = WORD_RULES[kind](tokenizer, tokens)
    special = set(tokenizer.all_special_ids)
    joins = [j and i not in special for i, j in enumerate(joins)]
    ends_word = [e or i in special for i, e in enumerate(ends_word)]
    return torch.tensor(joins, dtype=torch.bool), torch.tensor(ends_word, dtype=torch.bool)
