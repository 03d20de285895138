"""``SquadMetric``: exact match and F1 of the answers the model's start and end logits pick, as fractions.

``update(logits (batch, seq, 2), batch)`` keeps, per evaluation window (the batch's ``feature_index``), only its
``n_best_size`` candidate spans, their scores and its null score: fixed-size tensor states reduced by ``cat``, so
``composer -n N`` gathers every rank's windows before ``compute`` picks each question's answer over all of them. The
scoring is torchmetrics' SQuAD metric (the official answer normalisation, nothing downloaded); an unanswerable
question (SQuAD v2.0) is scored against the empty answer, as SQuAD v2.0's official script does.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.functional.text import squad
from torchmetrics.utilities import dim_zero_cat

from mosaicbert.finetune.question_answering.data import QAExample
from mosaicbert.finetune.question_answering.features import FEATURE_INDEX, Window
from mosaicbert.finetune.question_answering.postprocess import SpanRules, best_answers, window_candidates


def squad_targets(examples: list[QAExample]) -> list[dict]:
    """The examples' answers in torchmetrics' SQuAD layout (unanswerable: the empty answer)."""
    return [{"id": e.id, "answers": {"text": list(e.answers) or [""], "answer_start": list(e.answer_starts) or [-1]}}
            for e in examples]


class SquadMetric(Metric):
    """Exact match and F1 (fractions) over the questions of an evaluation split. ``examples`` and ``windows`` (the
    split's window table) are plain attributes: every rank builds the same ones from the same file."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, examples: list[QAExample], windows: list[Window], rules: SpanRules, **kwargs):
        super().__init__(**kwargs)
        self.examples, self.windows, self.rules = examples, windows, rules
        self.predictions: dict[str, str] = {}  # question id -> answer text, of the last compute()
        for name in ("window_ids", "spans", "scores", "nulls"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, logits: torch.Tensor, batch: dict) -> None:
        window_ids = batch[FEATURE_INDEX].detach().cpu().long()
        candidates = [window_candidates(row, self.windows[i], self.rules) for row, i in zip(logits,
                                                                                             window_ids.tolist())]
        spans, scores, nulls = zip(*candidates)
        device = self.device
        self.window_ids.append(window_ids.to(device))
        self.spans.append(torch.stack(spans).to(device))
        self.scores.append(torch.stack(scores).to(device))
        self.nulls.append(torch.stack(nulls).to(device))

    def compute(self) -> dict[str, torch.Tensor]:
        if isinstance(self.window_ids, list) and not self.window_ids:  # (after a sync: one gathered tensor)
            raise ValueError("SquadMetric.compute before any update: the evaluation split gave no batches")
        states = [dim_zero_cat(s).cpu() for s in (self.window_ids, self.spans, self.scores, self.nulls)]
        self.predictions = best_answers(self.examples, self.windows, *states, self.rules)
        preds = [{"id": e.id, "prediction_text": self.predictions.get(e.id, "")} for e in self.examples]
        scores = squad(preds, squad_targets(self.examples))
        return {"exact_match": scores["exact_match"] / 100, "f1": scores["f1"] / 100}
