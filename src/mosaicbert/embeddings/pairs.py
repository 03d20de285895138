"""The text rows of sentence embeddings, read with their line numbers: ``anchor``/``positive`` (optional
``negative``) rows for in-batch negatives, and ``sentence1``/``sentence2``/``score`` pairs for CoSENT or cosine
losses and for STS scoring. Scores 0-5 (STS) or 0-1 are both accepted and kept as 0-1."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mosaicbert.finetune.data import Columns, DataFormatError, iter_table_rows

TRIPLET_COLUMNS = ("anchor", "positive", "negative")
SCORED_COLUMNS = ("sentence1", "sentence2")
SCORE = "score"
ANY_COLUMNS = Columns(text_a=None, label=None)  # the header is checked here, by kind
MAX_SCORE = 5.0  # STS's scale; a file whose scores stay within 0-1 is on that scale already


@dataclass
class TextRows:
    """One file's texts by column (``anchor, positive[, negative]`` or ``sentence1, sentence2``) and, for scored
    pairs, their scores in [0, 1]."""

    texts: dict[str, list[str]]
    scores: list[float] | None
    source: str

    @property
    def scored(self) -> bool:
        return self.scores is not None

    def __len__(self) -> int:
        return len(next(iter(self.texts.values())))


def _text(row: dict, column: str, path: Path, line: int) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        needed = " and ".join(repr(c) for c in _kind_columns(row))
        raise DataFormatError(f"{path} line {line}: no {column!r} text (each row needs {needed})")
    if not isinstance(value, str):
        raise DataFormatError(f"{path} line {line}: {column!r} is {value!r}, not text")
    return value


def _kind_columns(row: dict) -> tuple[str, ...]:
    return SCORED_COLUMNS + (SCORE,) if SCORED_COLUMNS[0] in row else TRIPLET_COLUMNS[:2]


def _score(row: dict, path: Path, line: int) -> float:
    raw = row.get(SCORE)
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataFormatError(f"{path} line {line}: score {raw!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= MAX_SCORE:
        raise DataFormatError(f"{path} line {line}: score {raw!r} is outside [0, {MAX_SCORE:g}]")
    return value


def read_text_rows(path: str | Path) -> TextRows:
    """Rows of a CSV (header row), TSV or JSONL file: triplets/pairs (``anchor``, ``positive``, optional
    ``negative``: used when the first row has it) or scored pairs (``sentence1``, ``sentence2``, ``score``)."""
    path = Path(path)
    rows = iter_table_rows(path, ANY_COLUMNS)
    first = next(rows, None)
    if first is None:
        raise DataFormatError(f"{path}: no examples")
    if SCORED_COLUMNS[0] in first[1]:
        columns, scored = SCORED_COLUMNS, True
    elif TRIPLET_COLUMNS[0] in first[1]:
        columns = TRIPLET_COLUMNS if TRIPLET_COLUMNS[2] in first[1] else TRIPLET_COLUMNS[:2]
        scored = False
    else:
        raise DataFormatError(f"{path}: expected columns anchor, positive[, negative] or sentence1, sentence2, "
                              f"score (found: {', '.join(map(str, first[1])) or 'none'})")
    texts: dict[str, list[str]] = {c: [] for c in columns}
    scores: list[float] | None = [] if scored else None
    for line, row in [first, *rows]:
        for column in columns:
            texts[column].append(_text(row, column, path, line))
        if scores is not None:
            scores.append(_score(row, path, line))
    if scores is not None and max(scores) > 1.0:
        scores = [s / MAX_SCORE for s in scores]
    return TextRows(texts, scores, str(path))
