"""StreamingTextDataset: MDS shards -> fixed-length model inputs, streamed with MosaicML Streaming.

A sample is stored either as ``text`` (tokenized here, on the fly) or as ``input_ids`` (token ids that
already carry the tokenizer's special tokens, see :mod:`mosaicbert.data.conversion`). Either way the
sequence is truncated to ``max_seq_len`` keeping its closing special token, and padded. Rows packed with
``document_lengths`` (``convert_dataset.py --pack_documents``) also yield ``document_ids`` (1, 2, ... per document,
0 at padding) unless ``document_boundaries`` is off; the network then attends within each document only. Order,
mixing of several streams, sharding over ranks and workers, and mid-epoch resumption are Streaming's.
"""

from __future__ import annotations

from math import ceil
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from streaming import Stream, StreamingDataset
from transformers import PreTrainedTokenizerBase

from mosaicbert.architecture.padding import DOCUMENT_IDS
from mosaicbert.data.mds_columns import DOCUMENT_LENGTHS, TEXT, TOKENS
from mosaicbert.data.shared_memory_registration import registering_shared_memory

# Characters of a document tokenized at first per sequence position (English WordPiece: ~4-5 per token).
_CHARS_PER_TOKEN_GUESS = 8


class StreamingTextDataset(StreamingDataset):
    """Yields dicts of ``torch.long`` tensors ``input_ids``, ``attention_mask``, ``token_type_ids`` (``max_seq_len``).

    Args:
        tokenizer: the tokenizer (used for ``text`` samples, special tokens and padding).
        max_seq_len: length of every sequence.
        stream_names: names of ``streams`` (in order), so mixtures can be changed by name (:meth:`set_mixture`).
        document_boundaries: yield ``document_ids`` when a stream stores packed documents' lengths (then for every
            sample, one document per unpacked sample); ``False``: a packed row is one sequence.
        **streaming_kwargs: everything ``streaming.StreamingDataset`` accepts (``streams`` or ``local``/``remote``/
            ``split``, ``shuffle``, ``shuffle_seed``, ``epoch_size``, ``batch_size``, ...).
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_seq_len: int,
                 stream_names: Sequence[str] | None = None, document_boundaries: bool = True,
                 **streaming_kwargs: Any):
        with registering_shared_memory():
            super().__init__(**streaming_kwargs)
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no padding token")
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len
        self.stream_names = list(stream_names) if stream_names else [f"stream{i}" for i in range(self.num_streams)]
        if len(self.stream_names) != self.num_streams:
            raise ValueError(f"{len(self.stream_names)} stream names for {self.num_streams} streams")
        first_shards = [self.shards[offset] for offset in self.shard_offset_per_stream]
        for name, stream, shard in zip(self.stream_names, self.streams, first_shards):
            if not {TEXT, TOKENS} & set(shard.column_names):
                raise ValueError(f"stream {name!r} ({stream.local}/{stream.split or ''}) has neither a "
                                 f"{TEXT!r} nor an {TOKENS!r} column: {', '.join(shard.column_names)}")
        self.document_boundaries = document_boundaries and any(
            DOCUMENT_LENGTHS in shard.column_names for shard in first_shards)
        self.base_proportions = self.proportions
        self.base_epoch_size = self.epoch_size

    @property
    def proportions(self) -> dict[str, float]:
        """The stream mixture in effect: stream name -> fraction of each epoch's samples."""
        return {name: float(stream.proportion) for name, stream in zip(self.stream_names, self.streams)}

    def set_mixture(self, proportions: Mapping[str, float], epoch_size: int) -> None:
        """Re-weight the streams (relative proportions by name) and set the epoch size, from the next epoch on.

        Streams not named keep their current proportion. A dataloader with persistent workers holds
        copies of the dataset, so its workers must be restarted to see the change.
        """
        unknown = set(proportions) - set(self.stream_names)
        if unknown:
            raise KeyError(f"unknown stream(s) {', '.join(sorted(unknown))}; streams: {', '.join(self.stream_names)}")
        weights = [Stream(local=stream.local, split=stream.split, proportion=proportions.get(name, stream.proportion))
                   for name, stream in zip(self.stream_names, self.streams)]
        self.epoch_size = Stream.apply_weights(weights, self.samples_per_stream, epoch_size, self.shuffle_seed)
        for stream, weighted in zip(self.streams, weights):
            stream.proportion, stream.repeat, stream.choose = weighted.proportion, weighted.repeat, weighted.choose
        self.length = ceil(self.epoch_size / self._parallel_rank_world.num_ranks)

    def state_dict(self, num_samples: int, from_beginning: bool) -> dict[str, Any]:
        """Streaming's resumption state, with a finished epoch recorded as the start of the next one.

        Composer checkpoints at an epoch's end with ``num_samples == 0`` (its clock has moved on to the next
        epoch), where Streaming would record the start of the finished epoch and a resumed run would replay it.
        """
        state = super().state_dict(num_samples, from_beginning)
        if from_beginning and num_samples == 0 and state["epoch"] == self.next_epoch - 1 >= 0:
            state["epoch"] += 1
        return state

    def _encode_text(self, text: str) -> dict[str, torch.Tensor]:
        """Tokenize, truncate and pad; long documents are tokenized from a prefix cut at a space.

        The prefix grows until it fills the sequence, so the result equals tokenizing the whole document.
        """
        limit = self.max_seq_len * _CHARS_PER_TOKEN_GUESS
        while True:
            cut = text.rfind(" ", 0, limit) if len(text) > limit else -1
            encoded = self.tokenizer(text[:cut] if cut > 0 else text, truncation=True, max_length=self.max_seq_len,
                                     padding="max_length", return_attention_mask=True, return_token_type_ids=True)
            if cut <= 0 or encoded["attention_mask"][-1]:
                return {key: torch.tensor(encoded[key], dtype=torch.long)
                        for key in ("input_ids", "attention_mask", "token_type_ids")}
            limit *= 4

    def _encode_tokens(self, ids: np.ndarray) -> dict[str, torch.Tensor]:
        if len(ids) > self.max_seq_len:
            ids = np.concatenate([ids[:self.max_seq_len - 1], ids[-1:]])
        input_ids = torch.full((self.max_seq_len,), self.tokenizer.pad_token_id, dtype=torch.long)
        input_ids[:len(ids)] = torch.from_numpy(ids.astype(np.int64))
        attention_mask = torch.zeros(self.max_seq_len, dtype=torch.long)
        attention_mask[:len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask,
                "token_type_ids": torch.zeros(self.max_seq_len, dtype=torch.long)}

    def _encode_packed(self, ids: np.ndarray, lengths: np.ndarray) -> dict[str, torch.Tensor]:
        """A packed row and its ``document_ids``; past ``max_seq_len`` the cut document keeps its closing token."""
        documents, used = [], 0
        for document in np.split(ids, np.cumsum(lengths.astype(np.int64))[:-1]):
            room = self.max_seq_len - used
            if len(document) > room:
                if room >= 2:
                    documents.append(np.concatenate([document[:room - 1], document[-1:]]))
                break
            documents.append(document)
            used += len(document)
        encoded = self._encode_tokens(np.concatenate(documents))
        document_ids = torch.zeros(self.max_seq_len, dtype=torch.long)
        document_ids[:sum(map(len, documents))] = torch.repeat_interleave(
            torch.arange(1, len(documents) + 1), torch.tensor([len(d) for d in documents]))
        return {**encoded, DOCUMENT_IDS: document_ids}

    def get_item(self, sample_id: int, retry: int = 7) -> dict[str, torch.Tensor]:
        """The model inputs of one sample (by global sample id)."""
        sample = super().get_item(sample_id, retry)
        if self.document_boundaries and DOCUMENT_LENGTHS in sample:
            return self._encode_packed(sample[TOKENS], sample[DOCUMENT_LENGTHS])
        encoded = self._encode_tokens(sample[TOKENS]) if TOKENS in sample else self._encode_text(sample[TEXT])
        if self.document_boundaries:  # an unpacked sample beside packed streams: one document
            encoded[DOCUMENT_IDS] = encoded["attention_mask"].clone()
        return encoded
