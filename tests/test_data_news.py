"""The embedded news corpus: a fixed, seeded train/val split, written idempotently as local JSONL."""

from __future__ import annotations

from streaming import StreamingDataset

import convert_dataset
from mosaicbert.data.news import load_news_articles, news_splits, prepare_news_corpus


def test_split_is_fixed_disjoint_and_complete(news_articles):
    splits = news_splits()
    assert news_articles == load_news_articles() and len(news_articles) == 3788
    assert splits == news_splits()
    assert sorted(splits["train"] + splits["val"]) == sorted(set(news_articles))  # distinct articles, all used
    assert not set(splits["train"]) & set(splits["val"])
    assert round(len(set(news_articles)) * 0.05) == len(splits["val"]) == 189
    assert news_splits(seed=18)["val"] != splits["val"]


def test_prepared_jsonl_is_idempotent_and_converts_like_the_news_source(tmp_path, news_mds, capsys):
    first = prepare_news_corpus(tmp_path / "corpus")
    snapshot = {split: path.read_bytes() for split, path in first.items()}
    again = prepare_news_corpus(tmp_path / "corpus")
    assert {split: path.read_bytes() for split, path in again.items()} == snapshot
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["train.jsonl", "val.jsonl"]
    code = convert_dataset.main(["--source", "files", "--files", f"train={first['train']}", f"val={first['val']}",
                                 "--out_root", str(tmp_path / "mds"), "--no_progress"])
    assert code == 0, capsys.readouterr().err
    for split in ("train", "val"):
        converted, reference = (StreamingDataset(local=str(root / split), shuffle=False)
                                for root in (tmp_path / "mds", news_mds / "text"))
        assert converted.num_samples == reference.num_samples
        assert all(converted[i]["text"] == reference[i]["text"] for i in range(converted.num_samples))
