"""Start and end logits -> answers, ``run_qa.py``'s conventions: per window, the ``n_best_size`` best starts and ends
among the context's tokens make the candidate spans (end not before start, at most ``max_answer_length`` tokens),
scored by start + end logit; per question, the best candidate of all its windows. SQuAD v2.0: the null answer's
score is [CLS]'s start + end logit (the lowest over the question's windows), and the question is answered empty
when it beats the best span by more than ``null_score_diff_threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mosaicbert.finetune.question_answering.data import QAExample
from mosaicbert.finetune.question_answering.features import Window

NO_SPAN = -1  # a candidate slot left empty (a window with fewer candidates than n_best_size)


@dataclass(frozen=True)
class SpanRules:
    """How candidates are chosen and the null answer weighed (``hyperparameters``; ``null_answers``: the data has
    unanswerable questions, SQuAD v2.0)."""

    n_best_size: int = 20
    max_answer_length: int = 30
    null_answers: bool = False
    null_score_diff_threshold: float = 0.0


def window_candidates(logits: torch.Tensor, window: Window,
                      rules: SpanRules) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One window's ``(n_best, 2)`` candidate spans in context characters (``NO_SPAN`` where fewer), their scores
    (``-inf`` there) and its null score; ``logits`` is ``(seq, 2)`` (padding past the window's tokens ignored)."""
    k = rules.n_best_size
    spans = torch.full((k, 2), NO_SPAN, dtype=torch.long)
    scores = torch.full((k,), -math.inf)
    logits = logits.detach().float().cpu()
    null = logits[window.cls_index].sum()
    context = torch.tensor([t for t, o in enumerate(window.offsets) if o is not None], dtype=torch.long)
    if not len(context):
        return spans, scores, null
    start_logits, end_logits = logits[context, 0], logits[context, 1]
    top = min(k, len(context))
    starts = start_logits.topk(top).indices  # positions within the context's tokens
    ends = end_logits.topk(top).indices
    pair_scores = start_logits[starts][:, None] + end_logits[ends][None, :]
    length = ends[None, :] - starts[:, None]  # context tokens are consecutive: positions subtract
    pair_scores[(length < 0) | (length >= rules.max_answer_length)] = -math.inf
    best = pair_scores.flatten().topk(top)
    kept = 0
    for score, flat in zip(best.values.tolist(), best.indices.tolist()):
        if score == -math.inf:
            break
        first, last = context[starts[flat // top]], context[ends[flat % top]]
        spans[kept] = torch.tensor([window.offsets[first][0], window.offsets[last][1]])
        scores[kept] = score
        kept += 1
    return spans, scores, null


def best_answers(examples: list[QAExample], windows: list[Window], window_ids: torch.Tensor, spans: torch.Tensor,
                 scores: torch.Tensor, nulls: torch.Tensor, rules: SpanRules) -> dict[str, str]:
    """Each evaluated question's answer text (``""``: no answer) from its windows' candidates; a window seen twice
    (a distributed sampler's padding) counts once."""
    best: dict[int, tuple[float, int, int]] = {}
    null: dict[int, float] = {}
    for window_id, window_spans, window_scores, window_null in zip(window_ids.tolist(), spans.tolist(),
                                                                   scores.tolist(), nulls.tolist()):
        example = windows[window_id].example_index
        null[example] = min(null.get(example, math.inf), window_null)
        if window_scores[0] > best.get(example, (-math.inf,))[0]:
            best[example] = (window_scores[0], *window_spans[0])
    answers = {}
    for example, null_score in null.items():
        score, start, end = best.get(example, (-math.inf, NO_SPAN, NO_SPAN))
        empty = start == NO_SPAN or rules.null_answers and null_score - score > rules.null_score_diff_threshold
        # a byte-level BPE token's span may include the space before its word
        answers[examples[example].id] = "" if empty else examples[example].context[start:end].strip()
    return answers
