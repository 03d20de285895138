"""A retrieval set in BEIR's layout: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score`` with a header row), read with one-line
errors naming the file and line (a judgement of an unknown document or query, a bad score)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mosaicbert.finetune.data import DataFormatError, read_records

QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass
class RetrievalSet:
    """Texts by id and graded judgements ``qrels[query_id][doc_id] = relevance`` (> 0: relevant)."""

    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    source: str


def _jsonl_texts(path: Path, *, with_title: bool) -> dict[str, str]:
    """``_id`` -> text (a document's title, when it has one, before its text, as BEIR's own evaluation joins them)."""
    texts: dict[str, str] = {}
    for line_number, row in read_records(path, "jsonl"):
        if "_id" not in row or not isinstance(row.get("text"), str):
            raise DataFormatError(f"{path} line {line_number}: expected an object with '_id' and 'text'")
        key = str(row["_id"])
        if key in texts:
            raise DataFormatError(f"{path} line {line_number}: duplicate _id {key!r}")
        title = row.get("title") if with_title else None
        texts[key] = f"{title} {row['text']}".strip() if isinstance(title, str) and title else row["text"]
    if not texts:
        raise DataFormatError(f"{path}: no entries")
    return texts


def _qrels(path: Path, corpus: dict[str, str], queries: dict[str, str]) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise DataFormatError(f"missing file {path}")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            line = reader.line_num
            if not row or (line == 1 and tuple(row[:3]) == QRELS_HEADER):
                continue
            if len(row) != 3:
                raise DataFormatError(f"{path} line {line}: expected 3 tab-separated fields "
                                      f"({', '.join(QRELS_HEADER)}), found {len(row)}")
            query_id, doc_id, raw = row
            if query_id not in queries:
                raise DataFormatError(f"{path} line {line}: unknown query {query_id!r} (not in queries.jsonl)")
            if doc_id not in corpus:
                raise DataFormatError(f"{path} line {line}: unknown document {doc_id!r} (not in corpus.jsonl)")
            try:
                qrels.setdefault(query_id, {})[doc_id] = int(raw)
            except ValueError:
                raise DataFormatError(f"{path} line {line}: score {raw!r} is not an integer") from None
    if not any(score > 0 for judged in qrels.values() for score in judged.values()):
        raise DataFormatError(f"{path}: no relevant documents (score > 0)")
    return qrels


def read_retrieval_set(folder: str | Path, split: str = "test") -> RetrievalSet:
    """The corpus, queries and ``qrels/<split>.tsv`` of a BEIR-layout folder."""
    folder = Path(folder)
    corpus = _jsonl_texts(folder / "corpus.jsonl", with_title=True)
    queries = _jsonl_texts(folder / "queries.jsonl", with_title=False)
    return RetrievalSet(corpus, queries, _qrels(folder / "qrels" / f"{split}.tsv", corpus, queries), str(folder))
