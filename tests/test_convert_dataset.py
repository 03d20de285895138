"""convert_dataset.py on the real news corpus: round trips, packing, safety and one-line errors."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streaming import StreamingDataset

import convert_dataset
from mosaicbert.data.conversion import ConversionError, ConversionOptions, convert_split
from mosaicbert.data.news import news_splits
from mosaicbert.data.sources import SplitSource


def read_column(path: Path, column: str) -> list:
    """Every sample's ``column`` of an MDS split, in stored order."""
    dataset = StreamingDataset(local=str(path), shuffle=False)
    return [dataset[i][column] for i in range(dataset.num_samples)]


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = convert_dataset.main(list(argv))
    return code, capsys.readouterr().err


def test_default_news_command_round_trips_text(news_mds):
    """``news_mds/text`` is what ``python convert_dataset.py --source news --out_root ...`` writes."""
    splits = news_splits()
    for split in ("train", "val"):
        assert read_column(news_mds / "text" / split, "text") == splits[split]


def test_token_ids_round_trip_and_do_not_depend_on_workers(tmp_path, tokenizer, capsys):
    docs = news_splits()["val"][:120]
    for workers in ("0", "2"):
        code, err = run_cli(capsys, "--source", "news", "--splits", "val", "--max_docs", "120", "--out_root",
                            str(tmp_path / workers), "--tokenizer", "bert-base-uncased", "--workers", workers,
                            "--no_progress", "--compression", "none")
        assert code == 0, err
    stored = read_column(tmp_path / "2" / "val", "input_ids")
    assert [ids.tolist() for ids in stored] == tokenizer(docs)["input_ids"]
    assert stored[0].dtype == np.uint16
    shards = sorted(p.name for p in (tmp_path / "2" / "val").iterdir())
    for name in shards:
        assert (tmp_path / "0" / "val" / name).read_bytes() == (tmp_path / "2" / "val" / name).read_bytes()


def test_concat_tokens_packs_documents_with_separator(tmp_path, tokenizer, capsys):
    docs = news_splits()["val"][:40]
    code, err = run_cli(capsys, "--source", "news", "--splits", "val", "--max_docs", "40", "--out_root",
                        str(tmp_path), "--tokenizer", "bert-base-uncased", "--concat_tokens", "128", "--workers", "0",
                        "--no_progress")
    assert code == 0, err
    blocks = read_column(tmp_path / "val", "input_ids")
    assert all(len(b) == 128 and b[0] == tokenizer.cls_token_id and b[-1] == tokenizer.sep_token_id for b in blocks)
    separated = [doc + [tokenizer.sep_token_id] for doc in tokenizer(docs, add_special_tokens=False)["input_ids"]]
    stream = [token for doc in separated for token in doc]
    packed = [int(t) for b in blocks for t in b[1:-1]]
    assert len(blocks) == len(stream) // 126 and packed == stream[:len(packed)]


def test_local_file_formats_give_the_same_documents(tmp_path, capsys):
    docs = [d.replace("\n", " ") for d in news_splits()["val"][:25]]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("\n".join(docs) + "\n", encoding="utf-8")
    (tmp_path / "in" / "b.jsonl").write_text("".join(json.dumps({"body": d}) + "\n" for d in docs), encoding="utf-8")
    (tmp_path / "in" / "c.json").write_text(json.dumps([{"body": d} for d in docs]), encoding="utf-8")
    pd.DataFrame({"body": docs}).to_csv(tmp_path / "in" / "d.csv", index=False)
    pd.DataFrame({"body": docs}).to_parquet(tmp_path / "in" / "e.parquet")
    for name in ("a.txt", "b.jsonl", "c.json", "d.csv", "e.parquet"):
        code, err = run_cli(capsys, "--source", "files", "--files", f"train={tmp_path / 'in' / name}",
                            "--text_column", "body", "--out_root", str(tmp_path / name), "--no_progress")
        assert code == 0, err
        assert read_column(tmp_path / name / "train", "text") == docs, name
    code, err = run_cli(capsys, "--source", "files", "--files", str(tmp_path / "in" / "*.jsonl"),
                        str(tmp_path / "in" / "c.json"), "--text_column", "body", "--out_root", str(tmp_path / "glob"),
                        "--no_progress")
    assert code == 0, err
    assert read_column(tmp_path / "glob" / "train", "text") == docs + docs


@pytest.mark.parametrize("case", ["missing", "unknown_column", "bad_json", "empty", "no_files", "hub_offline"])
def test_bad_input_is_one_clear_error(tmp_path, capsys, case):
    (tmp_path / "docs.jsonl").write_text('{"body": "A real sentence."}\n', encoding="utf-8")
    (tmp_path / "bad.jsonl").write_text('{"text": "fine"}\n{"text": broken\n', encoding="utf-8")
    (tmp_path / "empty.txt").write_text("\n  \n", encoding="utf-8")
    (tmp_path / "nothing").mkdir()
    argv, expected = {
        "missing": (["--source", "files", "--files", str(tmp_path / "nope.jsonl")], "nope.jsonl: input not found"),
        "unknown_column": (["--source", "files", "--files", str(tmp_path / "docs.jsonl")],
                           "no column 'text'; available columns: body"),
        "bad_json": (["--source", "files", "--files", str(tmp_path / "bad.jsonl")], "bad.jsonl:2: invalid JSON"),
        "empty": (["--source", "files", "--files", str(tmp_path / "empty.txt")], "empty corpus"),
        "no_files": (["--source", "files", "--files", str(tmp_path / "nothing")], "directory holds no"),
        "hub_offline": (["--source", "c4", "--splits", "val"], "cannot open Hugging Face dataset 'allenai/c4'"),
    }[case]
    code, err = run_cli(capsys, *argv, "--out_root", str(tmp_path / "out"), "--no_progress")
    assert code == (1 if case == "bad_json" else 2)  # bad contents: 1; bad command/input location: 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in err
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_existing_output_refused_and_overwrite_never_duplicates(tmp_path, capsys):
    argv = ["--source", "news", "--splits", "val", "--out_root", str(tmp_path), "--no_progress"]
    assert run_cli(capsys, *argv)[0] == 0
    code, err = run_cli(capsys, *argv)
    assert code == 2 and "output already exists" in err and "--overwrite" in err
    assert run_cli(capsys, *argv, "--overwrite")[0] == 0
    assert read_column(tmp_path / "val", "text") == news_splits()["val"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["val"]


def test_exception_inside_conversion_leaves_nothing(tmp_path):
    def documents():
        yield from news_splits()["val"][:50]
        raise RuntimeError("source failed mid-way")

    with pytest.raises(RuntimeError, match="mid-way"):
        convert_split(SplitSource("failing", documents), tmp_path / "val",
                      ConversionOptions(size_limit="20kb", progress=False))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConversionError, match="empty corpus"):
        convert_split(SplitSource("blank", lambda: iter(["", " \n", None])), tmp_path / "val",
                      ConversionOptions(progress=False))
    assert list(tmp_path.iterdir()) == []


def test_killed_conversion_leaves_no_dataset_and_rerun_does_not_duplicate(tmp_path, capsys):
    argv = ["--source", "news", "--splits", "train", "--max_docs", "300", "--out_root", str(tmp_path),
            "--tokenizer", "bert-base-uncased", "--size_limit", "20kb", "--workers", "0", "--no_progress"]
    # a forked copy of this process runs the CLI (no second start-up of Python and torch), then is SIGKILLed
    process = multiprocessing.get_context("fork").Process(target=convert_dataset.main, args=(argv,))
    process.start()
    deadline = time.time() + 120
    while not any(tmp_path.glob(".train.tmp-*/shard.00002.*")):
        assert process.is_alive() and time.time() < deadline, "conversion ended before it could be killed"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    assert not (tmp_path / "train").exists()
    with pytest.raises(RuntimeError, match="index.json does not exist"):
        StreamingDataset(local=str(tmp_path / "train"))
    assert run_cli(capsys, *argv)[0] == 0
    assert len(read_column(tmp_path / "train", "input_ids")) == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train"], "the killed run's leftovers were not removed"
