"""Questions -> the windows the model reads: ``[CLS] question [SEP] context-part [SEP]``.

A context longer than a window is read in several, each starting ``doc_stride`` tokens before the previous one
ended (the fast tokenizer's ``return_overflowing_tokens`` / ``stride``, as transformers' ``run_qa.py``), so that
every answer lies whole inside some window; ``max_len=None`` reads every context in one window (a model without a
length limit, e.g. ALiBi). Training windows carry the answer's first and last token (``start_positions``,
``end_positions``), the first answer's, or the [CLS] token where the window does not hold it whole or the question
has none. Evaluation windows carry their index into the :class:`Window` table: the context characters of each token
(``offset_mapping``), which the metric maps predicted tokens back through.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from mosaicbert.finetune.data import DataFormatError
from mosaicbert.finetune.question_answering.data import QAExample

CONTEXT = 1  # the context's sequence id in a question-context pair
FEATURE_INDEX = "feature_index"  # the batch key of an evaluation window's row in the Window table
CHUNK = 1000  # questions tokenized at a time


@dataclass(frozen=True)
class Window:
    """What the metric needs of one evaluation window: its question, and each token's span in the context
    (``None``: a question or special token), [CLS]'s position (the null answer of SQuAD v2.0)."""

    example_index: int
    offsets: tuple[tuple[int, int] | None, ...]
    cls_index: int


@dataclass
class Features:
    """The token rows of a split (for the dataloader) and, for evaluation, the window table."""

    rows: list[dict]
    windows: list[Window]


def _check_question_room(examples: list[QAExample], tokenizer: PreTrainedTokenizerBase, max_len: int,
                         stride: int) -> None:
    """Every question leaves more context per window than the stride (else windows could not advance)."""
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    lengths = tokenizer([e.question.lstrip() for e in examples], add_special_tokens=False)["input_ids"]
    for example, ids in zip(examples, lengths):
        room = max_len - specials - len(ids)
        if room <= stride:
            raise DataFormatError(f"{example.where}: the question's {len(ids)} tokens leave {max(room, 0)} of "
                                  f"max_seq_len {max_len} for the context, not more than doc_stride {stride}; "
                                  "raise hyperparameters.max_seq_len or lower hyperparameters.doc_stride")


def _answer_tokens(example: QAExample, offsets: list, sequence_ids: list, cls_index: int) -> tuple[int, int]:
    """First and last token of the example's first answer in this window, or [CLS] twice."""
    if not example.answerable:
        return cls_index, cls_index
    start_char = example.answer_starts[0]
    end_char = start_char + len(example.answers[0])
    context = [t for t, s in enumerate(sequence_ids) if s == CONTEXT]
    if not context or offsets[context[0]][0] > start_char or offsets[context[-1]][1] < end_char:
        return cls_index, cls_index
    # a byte-level BPE token may include the space before a word: compare span starts and ends, not equality
    start = max(t for t in context if offsets[t][0] <= start_char)
    end = min(t for t in context if offsets[t][1] >= end_char)
    return start, max(start, end)


def prepare_features(examples: list[QAExample], tokenizer: PreTrainedTokenizerBase, *, max_len: int | None,
                     stride: int, training: bool) -> Features:
    """Windows of every question; ``training``: rows with answer positions, else with ``feature_index``."""
    if max_len is not None:
        _check_question_room(examples, tokenizer, max_len, stride)
    rows, windows = [], []
    for first in range(0, len(examples), CHUNK):
        chunk = examples[first:first + CHUNK]
        encoded = tokenizer([e.question.lstrip() for e in chunk], [e.context for e in chunk],
                            truncation="only_second" if max_len is not None else False,
                            max_length=max_len, stride=stride if max_len is not None else 0,
                            return_overflowing_tokens=True, return_offsets_mapping=True)
        keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in encoded]
        for i, in_chunk in enumerate(encoded["overflow_to_sample_mapping"]):
            example_index = first + in_chunk
            ids = encoded["input_ids"][i]
            cls_index = ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in ids else 0
            sequence_ids = encoded.sequence_ids(i)
            offsets = encoded["offset_mapping"][i]
            row = {k: encoded[k][i] for k in keys}
            if training:
                row["start_positions"], row["end_positions"] = _answer_tokens(
                    examples[example_index], offsets, sequence_ids, cls_index)
            else:
                row[FEATURE_INDEX] = len(windows)
                windows.append(Window(example_index, tuple(tuple(o) if s == CONTEXT else None
                                                           for o, s in zip(offsets, sequence_ids)), cls_index))
            rows.append(row)
    return Features(rows, windows)
