"""Packing whole documents (convert_dataset.py --pack_documents) on real news: rows keep every document whole,
the dataset turns the stored lengths into document ids, and a loader can switch the boundaries off."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streaming import StreamingDataset

import convert_dataset
from mosaicbert.architecture.padding import DOCUMENT_IDS, padding_info
from mosaicbert.data.loaders import build_mlm_dataloader
from mosaicbert.data.masking import MLMMasker
from mosaicbert.data.mds_columns import DOCUMENT_LENGTHS, TOKENS
from mosaicbert.data.news import news_splits

ROW = 256
DOCS = 40


@pytest.fixture(scope="module")
def packed_mds(tmp_path_factory):
    root = tmp_path_factory.mktemp("packed")
    code = convert_dataset.main(["--source", "news", "--splits", "val", "--max_docs", str(DOCS), "--out_root",
                                 str(root), "--tokenizer", "bert-base-uncased", "--pack_documents", str(ROW),
                                 "--workers", "0", "--no_progress"])
    assert code == 0
    return root


def test_rows_hold_whole_documents_each_with_its_special_tokens(packed_mds, tokenizer, capsys):
    dataset = StreamingDataset(local=str(packed_mds / "val"), shuffle=False)
    rows = [dataset[i] for i in range(dataset.num_samples)]
    pieces = []
    for row in rows:
        ids, lengths = row[TOKENS], row[DOCUMENT_LENGTHS]
        assert len(ids) <= ROW and int(lengths.sum()) == len(ids)
        pieces += np.split(ids.astype(np.int64), np.cumsum(lengths)[:-1])
    assert all(p[0] == tokenizer.cls_token_id and p[-1] == tokenizer.sep_token_id for p in pieces)
    # every document's tokens are stored exactly once, long ones as consecutive pieces of at most ROW tokens
    bodies = sorted(tuple(p[1:-1]) for p in pieces)
    expected = []
    for ids in tokenizer(news_splits()["val"][:DOCS], add_special_tokens=False)["input_ids"]:
        expected += [tuple(ids[i:i + ROW - 2]) for i in range(0, max(len(ids), 1), ROW - 2)]
    assert bodies == sorted(expected)
    filled = sum(len(r[TOKENS]) for r in rows) / (len(rows) * ROW)
    assert filled > 0.9  # first-fit over open rows wastes little
    assert len(rows) < len(pieces)  # rows do hold several documents


@pytest.mark.parametrize("boundaries", [True, False])
def test_loader_yields_document_ids_unless_switched_off(packed_mds, tokenizer, boundaries):
    """Rows longer than max_seq_len (192 < 256) are cut at a document; the cut one keeps its [SEP]."""
    masker = MLMMasker(tokenizer, 0.15)
    spec = build_mlm_dataloader({"local": str(packed_mds), "split": "val", "shuffle": False,
                                 "num_canonical_nodes": 1, "document_boundaries": boundaries},
                                tokenizer, 192, 4, masker)
    rows = documents_seen = 0
    for batch in spec.dataloader:
        assert (DOCUMENT_IDS in batch) == boundaries
        if not boundaries:
            return
        documents, mask = batch[DOCUMENT_IDS], batch["attention_mask"].bool()
        assert torch.equal(documents > 0, mask)  # 0 exactly at padding
        info = padding_info(batch["attention_mask"], documents)
        real = batch["input_ids"].flatten()[info.indices]
        assert (real[info.cu_seqlens[:-1].long()] == tokenizer.cls_token_id).all()
        assert (real[info.cu_seqlens[1:].long() - 1] == tokenizer.sep_token_id).all()
        rows, documents_seen = rows + len(documents), documents_seen + len(info.cu_seqlens) - 1
        masked = masker(batch)  # the masker passes the ids through and never masks padding
        assert torch.equal(masked[DOCUMENT_IDS], documents) and not (masked["labels"][~mask] != -100).any()
    assert documents_seen > rows


def test_pack_documents_refuses_bad_options(tmp_path, capsys):
    for extra, message in ((["--pack_documents", "2"], "--pack_documents 2 leaves no room"),
                           (["--pack_documents", "64", "--concat_tokens", "64"], "exclude each other")):
        code = convert_dataset.main(["--source", "news", "--splits", "val", "--max_docs", "3", "--out_root",
                                     str(tmp_path), "--tokenizer", "bert-base-uncased", "--workers", "0",
                                     "--no_progress", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and message in err[0]
