"""The scores of an embedding model: STS (Spearman correlation of cosine similarities with human scores) and
retrieval over a BEIR-layout set (nDCG@10, MRR@10, Recall@100, torchmetrics' retrieval metrics). Encoding shows
sentence-transformers' progress bar (tqdm)."""

from __future__ import annotations

import torch
from scipy.stats import spearmanr
from sentence_transformers import SentenceTransformer
from torchmetrics.retrieval import RetrievalMRR, RetrievalNormalizedDCG, RetrievalRecall

from .beir import RetrievalSet
from .pairs import TextRows

NDCG_AT, MRR_AT, RECALL_AT = 10, 10, 100
QUERY_CHUNK = 256  # queries scored against the whole corpus at a time: bounds the score matrix's memory


def encode(model: SentenceTransformer, texts: list[str], *, batch_size: int = 64,
           progress: bool = True) -> torch.Tensor:
    """Unit-length embeddings (fp32, on the CPU), whatever the model's own last module does."""
    embeddings = model.encode(texts, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True,
                              show_progress_bar=progress)
    return embeddings.float().cpu()


def sts_spearman(model: SentenceTransformer, pairs: TextRows, *, batch_size: int = 64,
                 progress: bool = True) -> float:
    """Spearman's rho between the pairs' cosine similarities and their scores."""
    if not pairs.scored:
        raise ValueError(f"{pairs.source}: STS needs scored pairs (sentence1, sentence2, score)")
    first = encode(model, pairs.texts["sentence1"], batch_size=batch_size, progress=progress)
    second = encode(model, pairs.texts["sentence2"], batch_size=batch_size, progress=progress)
    cosine = (first * second).sum(dim=1)
    return float(spearmanr(cosine.numpy(), pairs.scores).statistic)


def _judged_candidates(scores: torch.Tensor, judged: list[dict[int, int]]):
    """Per query: its top ``RECALL_AT`` documents plus every judged one (so Recall@100's denominator counts relevant
    documents ranked lower), as (scores, relevance) rows. Ranking within that set keeps every position up to
    ``RECALL_AT`` exactly as in the whole corpus."""
    top = scores.topk(min(RECALL_AT, scores.shape[1]), dim=1).indices
    for row, relevance in enumerate(judged):
        candidates = sorted(set(top[row].tolist()) | relevance.keys())
        index = torch.tensor(candidates)
        yield scores[row, index], torch.tensor([relevance.get(i, 0) for i in candidates])


def retrieval_scores(model: SentenceTransformer, data: RetrievalSet, *, batch_size: int = 64,
                     progress: bool = True) -> dict[str, float]:
    """nDCG@10 (graded relevance), MRR@10 and Recall@100 (relevance > 0), averaged over the judged queries."""
    doc_ids = list(data.corpus)
    position = {doc_id: i for i, doc_id in enumerate(doc_ids)}
    query_ids = [q for q in data.queries if q in data.qrels and any(s > 0 for s in data.qrels[q].values())]
    docs = encode(model, [data.corpus[d] for d in doc_ids], batch_size=batch_size, progress=progress)
    queries = encode(model, [data.queries[q] for q in query_ids], batch_size=batch_size, progress=progress)
    metrics = {"ndcg@10": RetrievalNormalizedDCG(top_k=NDCG_AT), "mrr@10": RetrievalMRR(top_k=MRR_AT),
               "recall@100": RetrievalRecall(top_k=RECALL_AT)}
    for start in range(0, len(query_ids), QUERY_CHUNK):
        chunk = query_ids[start:start + QUERY_CHUNK]
        judged = [{position[d]: s for d, s in data.qrels[q].items()} for q in chunk]
        for offset, (preds, relevance) in enumerate(_judged_candidates(queries[start:start + len(chunk)] @ docs.T,
                                                                        judged)):
            indexes = torch.full_like(relevance, start + offset)
            for name, metric in metrics.items():
                target = relevance.clamp(min=0) if name.startswith("ndcg") else relevance > 0
                metric.update(preds, target, indexes=indexes)
    return {name: float(metric.compute()) for name, metric in metrics.items()}
