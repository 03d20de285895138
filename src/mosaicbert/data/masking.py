"""MLMMasker: BERT's 80/10/10 masking as a pure, vectorised function of (seed, step, sample, position).

Every decision for a token - masked or not, then [MASK] / random token / unchanged, and which random
token - comes from a 32-bit integer hash of the seed, the masker's ``step``, a hash of the sample's
token ids and the token's position. It runs on the batch's device with tensor ops only (no host sync,
no per-sample Python loop), so the masks of a sample do not depend on its batch, rank, microbatch or
dataloader worker: a 2-rank run masks exactly like a 1-rank run with the same global batch, and a
resumed run exactly like an uninterrupted one. See the masking contract in docs/architecture.md.

Whole-word masking (``whole_word=True``, PubMedBERT's and Bioformer's): the selection of a word is the selection
hash of its first piece, shared by its continuation pieces (tokenization/word_starts.py: a per-vocabulary-id table on
the device), so the rate counts words; each selected piece still draws its own 80/10/10 action, as in BERT's
whole-word masking. A word never spans a special token, padding or a packed row's document boundary.
"""

from __future__ import annotations

import re
from typing import Mapping

import torch
from transformers import PreTrainedTokenizerBase

from mosaicbert.architecture import IGNORE_INDEX
from mosaicbert.architecture.padding import DOCUMENT_IDS
from mosaicbert.tokenization.word_starts import word_boundary_tables

_MASK32 = 0xFFFFFFFF
_TWO32 = 1 << 32
# Odd multipliers below 2**31: products of 32-bit values stay below 2**63, so int64 never overflows.
_MULTIPLIERS = (0x7FEB352D, 0x31848BAB)
# Distinct salts for the independent draws made for each token.
_SALT_SELECT, _SALT_ACTION, _SALT_REPLACEMENT, _SALT_SAMPLE = 0x1B873593, 0x68E31DA4, 0x5BD1E995, 0x27D4EB2F
_RESERVED_TOKEN = re.compile(r"^\[unused\d+\]$")


def _mix(x: torch.Tensor | int) -> torch.Tensor | int:
    """A 32-bit avalanche hash of non-negative values below 2**32 (tensor or int)."""
    for multiplier in _MULTIPLIERS:
        x = x ^ (x >> 16)
        x = (x * multiplier) & _MASK32
    return x ^ (x >> 16)


def replacement_token_ids(tokenizer: PreTrainedTokenizerBase) -> torch.Tensor:
    """Token ids a masked token may be replaced with: the real vocabulary, without special or reserved tokens."""
    special = set(tokenizer.all_special_ids)
    vocab = tokenizer.get_vocab()
    return torch.tensor(sorted(i for token, i in vocab.items()
                               if i not in special and not _RESERVED_TOKEN.match(token)), dtype=torch.long)


class MLMMasker:
    """Callable on a batch dict: returns it with ``input_ids`` masked and ``labels`` (-100 where not masked).

    Each eligible token (not padding, not a special token) - or, with ``whole_word``, each word - is selected with
    probability ``rate``; a selected token becomes the mask token (80%), a random real token (10%) or stays
    unchanged (10%).

    Args:
        tokenizer: provides the mask token, special tokens and the vocabulary for random replacements.
        rate: masking rate (settable while training).
        seed: masking seed.
        dynamic: advance ``step`` by one after every call (training). ``False`` keeps ``step`` fixed,
            so every pass sees the same masks (evaluation).
        whole_word: select whole words (all their pieces) instead of single tokens.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, rate: float, seed: int = 17, dynamic: bool = True,
                 whole_word: bool = False):
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask token")
        self.rate = rate
        self.seed = seed
        self.dynamic = dynamic
        self.step = 0
        self.mask_token_id = tokenizer.mask_token_id
        self._special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
        self._replacements = replacement_token_ids(tokenizer)
        self.whole_word = whole_word
        self._word_tables = word_boundary_tables(tokenizer) if whole_word else None
        self._on_device: dict[torch.device, tuple[torch.Tensor, ...]] = {}

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, rate: float) -> None:
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"masking rate must be within [0, 1], got {rate}")
        self._rate = float(rate)

    def _tables(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        if device not in self._on_device:
            self._on_device[device] = tuple(t.to(device) for t in (self._special_ids, self._replacements,
                                                                     *(self._word_tables or ())))
        return self._on_device[device]

    def word_starts(self, batch: Mapping[str, torch.Tensor], eligible: torch.Tensor) -> torch.Tensor:
        """For each token, the position of the first piece of its word (itself where it starts one)."""
        input_ids = batch["input_ids"]
        _, _, joins, ends_word = self._tables(input_ids.device)
        continues = joins[input_ids] & eligible
        follows = torch.zeros_like(continues)  # the token before is an eligible piece that leaves its word open
        follows[..., 1:] = eligible[..., :-1] & ~ends_word[input_ids[..., :-1]]
        if DOCUMENT_IDS in batch:
            document_ids = batch[DOCUMENT_IDS]
            follows[..., 1:] &= document_ids[..., 1:] == document_ids[..., :-1]
        positions = torch.arange(input_ids.shape[-1], device=input_ids.device).expand_as(input_ids)
        return torch.where(continues & follows, 0, positions).cummax(dim=-1).values

    def token_hashes(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The per-token 32-bit hash of (seed, step, sample token ids, position), shape of ``input_ids``."""
        positions = torch.arange(input_ids.shape[-1], device=input_ids.device, dtype=torch.long)
        position_keys = _mix(positions ^ _SALT_SAMPLE)
        sample_keys = (_mix((input_ids & _MASK32) ^ position_keys).sum(dim=-1, keepdim=True)) & _MASK32
        run_key = _mix(_mix(self.seed & _MASK32) ^ (self.step & _MASK32))
        return _mix(_mix(sample_keys ^ run_key) ^ position_keys)

    def __call__(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        input_ids = batch["input_ids"]
        special_ids, replacements = self._tables(input_ids.device)[:2]
        eligible = ~torch.isin(input_ids, special_ids)
        if "attention_mask" in batch:
            eligible &= batch["attention_mask"].bool()
        token_hash = self.token_hashes(input_ids)
        select_hash = token_hash.gather(-1, self.word_starts(batch, eligible)) if self.whole_word else token_hash
        selected = eligible & (_mix(select_hash ^ _SALT_SELECT) < round(self.rate * _TWO32))
        action = _mix(token_hash ^ _SALT_ACTION)
        to_mask = selected & (action < round(0.8 * _TWO32))
        to_random = selected & (action >= round(0.8 * _TWO32)) & (action < round(0.9 * _TWO32))
        random_tokens = replacements[_mix(token_hash ^ _SALT_REPLACEMENT) % len(replacements)]

        masked = torch.where(to_mask, torch.full_like(input_ids, self.mask_token_id), input_ids)
        masked = torch.where(to_random, random_tokens, masked)
        if self.dynamic:
            self.step += 1
        return {**batch, "input_ids": masked, "labels": torch.where(selected, input_ids, IGNORE_INDEX)}
