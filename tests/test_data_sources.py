"""The ``files`` source's readers: CSV and Parquet streamed through Hugging Face ``datasets`` in order, text and JSON
read line by line; every failure one message naming the file (and the line where there is one)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from mosaicbert.data import sources
from mosaicbert.data.news import news_splits
from mosaicbert.data.sources import DataContentError, DataSourceError, iter_file_documents, open_source


@pytest.fixture(scope="module")
def articles() -> list[str]:
    return news_splits()["val"]


@pytest.fixture()
def no_datasets_cache(monkeypatch, tmp_path):
    """``datasets``' own cache points where nothing can be created: readers must not need it (a read-only home)."""
    import datasets

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", blocked / "datasets")


def documents(path: Path, column: str = "text") -> list:
    return list(iter_file_documents([path], column))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_and_parquet_larger_than_a_batch_stream_in_order(tmp_path, monkeypatch, articles, no_datasets_cache,
                                                             suffix):
    monkeypatch.setattr(sources, "ROWS_PER_BATCH", 16)  # 189 articles: 12 batches, the last one short
    table = pd.DataFrame({"id": range(len(articles)), "text": articles})
    path = tmp_path / f"news{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, row_group_size=50)
    stream = iter(open_source("files", ["train"], files=[str(path)])["train"].documents())
    assert next(stream) == articles[0]  # lazily: the first article before the rest is read
    assert [articles[0], *stream] == articles


def test_csv_fields_are_kept_as_written(tmp_path, articles):
    path = tmp_path / "odd [name]*.csv"  # load_dataset takes data_files as globs: the name must be escaped
    lines = ["\ufeffid,body,note", '1,"' + articles[0].replace('"', '""') + '",x', "2,NA,", "3,007,",
             "4,,empty", '5,"two, with ""quotes""\nand a line break",', "6,long row,a,b,c", ""]
    path.write_text("\r\n".join(lines), encoding="utf-8")
    assert documents(path, "body") == [articles[0], "NA", "007", "", 'two, with "quotes"\nand a line break',
                                       "long row"]


def test_csv_errors_are_one_line(tmp_path, articles, capfd):
    missing = tmp_path / "docs.csv"
    pd.DataFrame({"body": articles[:3], "source": "news"}).to_csv(missing, index=False)
    with pytest.raises(DataSourceError, match=r"docs\.csv: no column 'text'; available columns: body, source$"):
        documents(missing)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"empty\.csv: no column 'text'; available columns: \(none\)$"):
        documents(empty)
    unclosed = tmp_path / "unclosed.csv"
    first, second, third = (a[:200].replace('"', "'") for a in articles[:3])
    unclosed.write_text(f'text\n"{first}"\n"{second}\n{third}\n', encoding="utf-8")
    with pytest.raises(DataContentError, match=r"unclosed\.csv: not a readable CSV file \(.*EOF inside string"):
        documents(unclosed)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text\ncafé au lait\n".encode("latin-1"))
    with pytest.raises(DataSourceError, match=r"latin\.csv: cannot read \('utf-8' codec can't decode"):
        documents(latin)
    out, err = capfd.readouterr()
    assert out == err == ""  # datasets' builders log each failure: kept quiet


def test_datasets_logging_and_progress_bars_are_restored(tmp_path, articles):
    import datasets
    from datasets.utils import logging as datasets_logging

    path = tmp_path / "docs.csv"
    pd.DataFrame({"text": articles[:5]}).to_csv(path, index=False)
    before = datasets_logging.get_verbosity(), datasets.are_progress_bars_disabled()
    assert documents(path) == articles[:5]
    assert (datasets_logging.get_verbosity(), datasets.are_progress_bars_disabled()) == before


def test_parquet_errors_are_one_line(tmp_path, articles):
    path = tmp_path / "docs.parquet"
    pd.DataFrame({"body": articles[:3], "year": 2024}).to_parquet(path)
    with pytest.raises(DataSourceError, match=r"docs\.parquet: no column 'text'; available columns: body, year$"):
        documents(path)
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    with pytest.raises(DataContentError, match=r"damaged\.parquet: not a readable Parquet file \("):
        documents(damaged)
    nulls = tmp_path / "nulls.parquet"
    pd.DataFrame({"text": [articles[0], None, articles[1]]}).to_parquet(nulls)
    assert documents(nulls) == [articles[0], None, articles[1]]  # None: skipped by the conversion


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])  # .json: JSON lines under a .json name
def test_json_lines_name_the_line_deep_inside(tmp_path, articles, suffix):
    path = tmp_path / f"docs{suffix}"
    lines = [json.dumps({"text": a, "id": i}) for i, a in enumerate(articles)]
    lines.insert(50, "")  # blank lines are skipped but counted
    path.write_text("\n".join(lines[:150] + ['{"text": "cut short', *lines[150:]]) + "\n", encoding="utf-8")
    with pytest.raises(DataContentError, match=rf"^{re.escape(str(path))}:151: invalid JSON \("):
        documents(path)
    late_fields = [json.dumps({"text": a}) for a in articles[:120]] + [json.dumps({"text": articles[120], "url": "x"})]
    path.write_text("\n".join(late_fields + [json.dumps({"body": articles[121]})]), encoding="utf-8")
    where = re.escape(str(path))
    with pytest.raises(DataSourceError, match=rf"^{where}:122: no column 'text'; available columns: body$"):
        documents(path)
    path.write_text("\n".join(late_fields + ["[1, 2]"]), encoding="utf-8")
    with pytest.raises(DataContentError, match=rf"^{where}:122: expected records with a 'text' column, found list$"):
        documents(path)


def test_json_array(tmp_path, articles):
    path = tmp_path / "docs.json"
    path.write_text("\n  " + json.dumps([{"text": a, "id": i} for i, a in enumerate(articles[:40])], indent=1),
                    encoding="utf-8")
    assert documents(path) == articles[:40]
    path.write_text(json.dumps([{"text": articles[0]}, articles[1]]), encoding="utf-8")
    with pytest.raises(DataContentError, match=r"docs\.json\[1\]: expected records with a 'text' column, found str$"):
        documents(path)
    path.write_text(json.dumps([{"text": a} for a in articles[:3]], indent=1)[:-3], encoding="utf-8")
    with pytest.raises(DataContentError, match=r"docs\.json: invalid JSON \(.* at line 10\)$"):
        documents(path)


def test_text_lines_keep_universal_newlines(tmp_path, articles):
    path = tmp_path / "docs.txt"
    first, second, third = (" ".join(a.split()) for a in articles[:3])
    path.write_bytes(f"{first}\r\n{second}\r{third}\n\n".encode())
    assert documents(path) == [first, second, third, ""]
