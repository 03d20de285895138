"""Reading extractive-QA data: SQuAD JSON (v1.1 and v2.0: ``data -> paragraphs -> qas``) and flat JSONL (one
``{id, question, context, answers: {text: [...], answer_start: [...]}}`` a line, as Hugging Face's ``squad``).

Every record is checked as it is read, and a bad one is a :class:`~mosaicbert.finetune.data.DataFormatError`
naming the file and line (for SQuAD JSON, the line of the question's id, and its path in the document): a missing
or mistyped field, a duplicate id, an answer whose text is not at its ``answer_start``. Read by hand with
:mod:`json` rather than through ``datasets`` for those line numbers (as ``finetune/data.py`` does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from mosaicbert.finetune.data import DataFormatError


@dataclass(frozen=True)
class QAExample:
    """One question on one context; no answers: unanswerable (SQuAD v2.0). ``where`` names it in messages."""

    id: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    where: str

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


class _RecordError(ValueError):
    """A record's problem; the reader adds the file and line."""


def _field(record: object, key: str, kind: type | tuple[type, ...], what: str) -> object:
    if not isinstance(record, dict):
        raise _RecordError(f"{what} is {type(record).__name__}, not an object")
    if key not in record:
        raise _RecordError(f"{what} has no field {key!r}")
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise _RecordError(f"{what} field {key!r} is {value!r:.60}, not {names}")
    return value


def _checked_answers(context: str, texts: list, starts: list) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The answers, each found at its offset in the context."""
    if len(texts) != len(starts):
        raise _RecordError(f"{len(texts)} answer texts but {len(starts)} answer_start values")
    for text, start in zip(texts, starts):
        if not isinstance(text, str) or not text.strip():
            raise _RecordError(f"answer text {text!r:.60} is not a non-empty string")
        if not isinstance(start, int) or isinstance(start, bool):
            raise _RecordError(f"answer_start {start!r:.60} is not an integer")
        if context[start:start + len(text)] != text:
            found = context[max(start, 0):max(start, 0) + len(text)]
            raise _RecordError(f"answer {text!r:.60} is not at answer_start {start}: the context there reads "
                               f"{found!r:.60}")
    return tuple(texts), tuple(starts)


def _example(record: dict, context: str, answers: tuple[tuple, tuple], where: str) -> QAExample:
    question = _field(record, "question", str, "the question")
    if not question.strip():
        raise _RecordError("the question is empty")
    return QAExample(str(record["id"]), question, context, *answers, where)


def _squad_answers(qa: dict, context: str) -> tuple[tuple, tuple]:
    """A SQuAD question's answers: ``[{text, answer_start}]``; none when ``is_impossible`` (v2.0)."""
    answers = _field(qa, "answers", list, "the question")
    if qa.get("is_impossible", False):
        if answers:
            raise _RecordError("is_impossible is true but the question has answers")
        return (), ()
    if not answers:
        raise _RecordError("no answers (and is_impossible is not true)")
    texts = [_field(a, "text", str, "an answer") for a in answers]
    starts = [_field(a, "answer_start", int, "an answer") for a in answers]
    return _checked_answers(context, texts, starts)


def _line_of_id(text: str, qid: object) -> int | None:
    pos = text.find(json.dumps(str(qid))) if qid is not None else -1
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def read_squad_json(path: Path) -> Iterator[QAExample]:
    """SQuAD's own layout: ``{"data": [{"paragraphs": [{"context", "qas": [{"id", "question", "answers"}]}]}]}``."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(f"{path} line {err.lineno}: not valid JSON ({err.msg})") from None
    try:
        articles = _field(document, "data", list, "the document")
    except _RecordError as err:
        raise DataFormatError(f"{path}: {err} (SQuAD JSON: {{\"data\": [{{\"paragraphs\": [...]}}]}})") from None
    for a, article in enumerate(articles):
        paragraphs, p = [], None
        try:
            paragraphs = _field(article, "paragraphs", list, f"data[{a}]")
            for p, paragraph in enumerate(paragraphs):
                context = _field(paragraph, "context", str, f"data[{a}].paragraphs[{p}]")
                qas = _field(paragraph, "qas", list, f"data[{a}].paragraphs[{p}]")
                for q, qa in enumerate(qas):
                    where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                    qid = qa.get("id") if isinstance(qa, dict) else None
                    line = _line_of_id(text, qid)
                    place = f"{path} line {line}" if line else f"{path}"
                    try:
                        _field(qa, "id", (str, int), "the question")
                        yield _example(qa, context, _squad_answers(qa, context), f"{place} (id {qid!r}, {where})")
                    except _RecordError as err:
                        raise DataFormatError(f"{place} ({where}" + (f", id {qid!r}" if qid is not None else "")
                                              + f"): {err}") from None
        except _RecordError as err:
            raise DataFormatError(f"{path} (data[{a}]" + (f".paragraphs[{p}]" if p is not None else "")
                                  + f"): {err}") from None


def read_qa_jsonl(path: Path) -> Iterator[QAExample]:
    """One question a line: ``{"id", "question", "context", "answers": {"text": [...], "answer_start": [...]}}``;
    empty answer lists: unanswerable."""
    with path.open(encoding="utf-8-sig") as lines:
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            place = f"{path} line {line_no}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFormatError(f"{place}: not valid JSON ({err.msg})") from None
            try:
                _field(record, "id", (str, int), "the record")
                context = _field(record, "context", str, "the record")
                answers = _field(record, "answers", dict, "the record")
                texts = _field(answers, "text", list, "the record's answers")
                starts = _field(answers, "answer_start", list, "the record's answers")
                yield _example(record, context, _checked_answers(context, texts, starts),
                               f"{place} (id {record['id']!r})")
            except _RecordError as err:
                qid = record.get("id") if isinstance(record, dict) else None
                raise DataFormatError(f"{place}" + (f" (id {qid!r})" if qid is not None else "") + f": {err}") from None


# file suffix -> reader
READERS: dict[str, Callable[[Path], Iterator[QAExample]]] = {".json": read_squad_json, ".jsonl": read_qa_jsonl}


def read_examples(path: str | Path) -> list[QAExample]:
    """Every question of a SQuAD ``.json`` or a flat ``.jsonl`` file, checked; ids must be unique."""
    path = Path(path).expanduser()
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataFormatError(f"{path}: unknown question-answering format {path.suffix!r}; use "
                              + " or ".join(READERS) + " (SQuAD JSON or one JSON record a line)")
    if not path.is_file():
        raise DataFormatError(f"missing file {path}")
    examples, seen = [], {}
    for example in reader(path):
        if example.id in seen:
            raise DataFormatError(f"{example.where}: duplicate id, first seen at {seen[example.id]}")
        seen[example.id] = example.where
        examples.append(example)
    if not examples:
        raise DataFormatError(f"{path}: no questions")
    return examples
