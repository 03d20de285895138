"""Fidelity first: the real all-MiniLM-L6-v2 (a sentence-transformers model) imported as MosaicBERT and as hf_bert
and exported as a sentence-transformers folder gives the original's embeddings on held-out news text and its STS
Benchmark score to the second decimal; retrieval scores over the judged candidates equal those of the full ranking."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.retrieval import RetrievalMRR, RetrievalNormalizedDCG, RetrievalRecall

from mosaicbert.embeddings.beir import read_retrieval_set
from mosaicbert.embeddings.benchmark_data import read_sts_b, write_retrieval_set
from mosaicbert.embeddings.encoder_module import sentence_pipeline
from mosaicbert.embeddings.export import export_sentence_transformer
from mosaicbert.embeddings.loading import load_embedding_model
from mosaicbert.embeddings.pairs import TextRows
from mosaicbert.embeddings.scoring import encode, retrieval_scores, sts_spearman
from mosaicbert.models.build import build_network

IMPORTS = {"mosaic_bert": {"position_embedding_type": "absolute", "ffn_type": "mlp"}, "hf_bert": {}}
STS_PAIRS = 200  # of STS-B test: the score to 2 decimals in a few seconds


@pytest.fixture(scope="module")
def models(minilm_dir, tmp_path_factory):
    """The original (its own folder) and each import, exported and loaded back from the folder."""
    root = tmp_path_factory.mktemp("st")
    loaded = {"original": load_embedding_model(str(minilm_dir))}
    for name, config in IMPORTS.items():
        network, tokenizer = build_network(name, "encoder", model_config=config, init_from=str(minilm_dir))
        folder = export_sentence_transformer(sentence_pipeline(network).eval(), tokenizer, root / name,
                                             max_seq_length=256)
        loaded[name] = load_embedding_model(str(folder))
    return loaded


@pytest.fixture(scope="module")
def sts_pairs():
    pairs = read_sts_b("test")[:STS_PAIRS]
    return TextRows({"sentence1": [a for a, _, _ in pairs], "sentence2": [b for _, b, _ in pairs]},
                    [s / 5 for _, _, s in pairs], "sts-test")


@pytest.mark.parametrize("name", IMPORTS)
def test_imports_give_the_original_embeddings(models, name, news_sentences):
    held_out = news_sentences[-64:]
    original = encode(models["original"], held_out, progress=False)
    imported = encode(models[name], held_out, progress=False)
    assert torch.nn.functional.cosine_similarity(original, imported).min() >= 0.9999


@pytest.fixture(scope="module")
def original_sts(models, sts_pairs):
    return sts_spearman(models["original"], sts_pairs, progress=False)


@pytest.mark.parametrize("name", IMPORTS)
def test_imports_give_the_original_sts_score(models, name, sts_pairs, original_sts):
    original = original_sts
    assert original > 0.7  # a sentence model, not raw [CLS] vectors
    assert round(sts_spearman(models[name], sts_pairs, progress=False), 2) == round(original, 2)


def test_exported_pooling_is_the_one_trained(models):
    assert [type(m).__name__ for m in models["mosaic_bert"]] == ["Transformer", "Pooling", "Normalize"]
    assert models["mosaic_bert"][1].get_config_dict()["pooling_mode"] == "mean"
    assert models["mosaic_bert"].max_seq_length == 256


def test_judged_candidates_score_as_the_full_ranking(models, tmp_path):
    """nDCG@10, MRR@10 and Recall@100 from top-100 + judged documents equal torchmetrics on every document."""
    data = read_retrieval_set(write_retrieval_set(read_sts_b("test")[:400], tmp_path / "beir"))
    model = models["original"]
    scores = retrieval_scores(model, data, progress=False)
    doc_ids, query_ids = list(data.corpus), [q for q in data.queries if q in data.qrels]
    full = encode(model, [data.queries[q] for q in query_ids], progress=False) @ encode(
        model, [data.corpus[d] for d in doc_ids], progress=False).T
    relevance = torch.tensor([[data.qrels[q].get(d, 0) for d in doc_ids] for q in query_ids])
    indexes = torch.arange(len(query_ids))[:, None].expand_as(full)
    expected = {"ndcg@10": RetrievalNormalizedDCG(top_k=10)(full, relevance, indexes=indexes),
                "mrr@10": RetrievalMRR(top_k=10)(full, relevance > 0, indexes=indexes),
                "recall@100": RetrievalRecall(top_k=100)(full, relevance > 0, indexes=indexes)}
    assert len(doc_ids) > 100 and scores == pytest.approx({k: float(v) for k, v in expected.items()}, abs=1e-6)
