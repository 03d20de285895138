"""The training losses by config name, each sentence-transformers' own (same semantics, same defaults): in-batch
negatives (multiple-negatives ranking, scale 20; ``symmetric`` adds the positive -> anchor direction), its cached
(gradient-cache) form that fits a batch of thousands in the memory of ``mini_batch_size``, and CoSENT / cosine for
scored pairs. ``gather_across_ranks`` gathers the candidates of every rank (with gradients for the local ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sentence_transformers.sentence_transformer import losses as st
from torch import nn


@dataclass(frozen=True)
class LossKind:
    """How to build the loss and which rows it trains on (scored pairs or anchor/positive rows)."""

    build: Callable[..., nn.Module]
    scored: bool
    embeds_in_backward: bool = False  # the cached loss: its gradients need rank_gradients on several ranks


def _ranking(model, *, scale, symmetric, gather_across_ranks, **_):
    cls = st.MultipleNegativesSymmetricRankingLoss if symmetric else st.MultipleNegativesRankingLoss
    return cls(model, scale=scale, gather_across_devices=gather_across_ranks)


def _cached_ranking(model, *, scale, symmetric, gather_across_ranks, mini_batch_size, **_):
    cls = st.CachedMultipleNegativesSymmetricRankingLoss if symmetric else st.CachedMultipleNegativesRankingLoss
    return cls(model, scale=scale, mini_batch_size=mini_batch_size, gather_across_devices=gather_across_ranks)


def _cosent(model, *, scale, **_):
    return st.CoSENTLoss(model, scale=scale)


def _cosine(model, **_):
    return st.CosineSimilarityLoss(model)


LOSSES = {
    "multiple_negatives_ranking": LossKind(_ranking, scored=False),
    "cached_multiple_negatives_ranking": LossKind(_cached_ranking, scored=False, embeds_in_backward=True),
    "cosent": LossKind(_cosent, scored=True),
    "cosine": LossKind(_cosine, scored=True),
}
