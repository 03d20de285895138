"""Word-tagged sentences from CoNLL column files and from JSONL/CSV rows with a list of tokens and a list of tags.

CoNLL: one token a line (columns split on whitespace), a blank line between sentences, ``-DOCSTART-`` lines skipped,
the tag in column ``tag_column`` (default the last). JSONL/CSV (transformers' ``run_ner.py`` layout): a ``tokens``
list and a tags list per row; a CSV cell holds a JSON list or whitespace-separated items. Every sentence keeps the
line it starts on, so later checks (a tag training never saw) still name file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mosaicbert.finetune.data import DataFormatError, read_records

CONLL_SUFFIXES = (".conll", ".txt", ".tsv", ".iob", ".bio")
DOCSTART = "-DOCSTART-"
TAG_FIELDS = ("tags", "ner_tags")  # looked for in this order when tags_field is not given


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]
    line: int  # where it starts in its file
    word_per_line: bool = False  # CoNLL: word i is on line ``line + i``

    def line_of(self, word: int) -> int:
        return self.line + word if self.word_per_line else self.line


@dataclass(frozen=True)
class Sentences:
    items: list[Sentence]
    source: str

    def __len__(self) -> int:
        return len(self.items)

    def tags(self) -> set[str]:
        return {tag for sentence in self.items for tag in sentence.tags}


def file_format(path: Path, declared: str | None) -> str:
    """``conll``, ``jsonl`` or ``csv``: as declared, else from the suffix."""
    if declared:
        return declared
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix in CONLL_SUFFIXES:
        return "conll"
    raise DataFormatError(f"{path}: cannot tell the format from the suffix {suffix!r}; set data.format to one of "
                          f"conll, jsonl, csv")


def read_sentences(path: Path, fmt: str | None = None, *, tag_column: int = -1, tokens_field: str = "tokens",
                   tags_field: str | None = None) -> Sentences:
    """Every sentence of ``path``; malformed input is a ``DataFormatError`` naming file and line."""
    if not path.is_file():
        raise DataFormatError(f"missing file {path}")
    fmt = file_format(path, fmt)
    rows = _conll(path, tag_column) if fmt == "conll" else _rows(path, fmt, tokens_field, tags_field)
    items = list(rows)
    if not items:
        raise DataFormatError(f"{path}: no sentences")
    return Sentences(items, str(path))


def _conll(path: Path, tag_column: int) -> Iterator[Sentence]:
    words: list[str] = []
    tags: list[str] = []
    start = 0
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            fields = line.split()
            if not fields or fields[0] == DOCSTART:
                if words:
                    yield Sentence(tuple(words), tuple(tags), start, word_per_line=True)
                words, tags = [], []
                continue
            needed = tag_column + 1 if tag_column >= 0 else -tag_column + 1
            if len(fields) < max(needed, 2):
                raise DataFormatError(f"{path} line {number}: {len(fields)} column(s) {line.strip()!r}; a token line "
                                      f"needs the token and the tag (data.tag_column={tag_column})")
            if not words:
                start = number
            words.append(fields[0])
            tags.append(fields[tag_column])
    if words:
        yield Sentence(tuple(words), tuple(tags), start, word_per_line=True)


def _rows(path: Path, fmt: str, tokens_field: str, tags_field: str | None) -> Iterator[Sentence]:
    for number, row in read_records(path, fmt):
        field = tags_field or next((name for name in TAG_FIELDS if name in row), TAG_FIELDS[0])
        for name in (tokens_field, field):
            if name not in row:
                raise DataFormatError(f"{path} line {number}: missing field {name!r}")
        words, tags = _items(row[tokens_field]), _items(row[field])
        if words is None or tags is None:
            raise DataFormatError(f"{path} line {number}: {tokens_field!r} and {field!r} must be lists")
        if len(words) != len(tags):
            raise DataFormatError(f"{path} line {number}: {len(words)} tokens but {len(tags)} tags")
        if words:
            yield Sentence(tuple(map(str, words)), tuple(map(str, tags)), number)


def _items(value: object) -> list | None:
    """A list as it is; a CSV cell as a JSON list or whitespace-separated items; anything else None."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                return None
            return parsed if isinstance(parsed, list) else None
        return text.split()
    return None
