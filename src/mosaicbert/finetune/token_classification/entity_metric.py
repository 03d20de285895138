"""Entity-level precision, recall and F1 (seqeval) of a token-classification model, as a torchmetrics Metric.

Each batch adds, for every word's first sub-word, (sentence, word, predicted label id); the states are concatenated
across ranks, so ``composer -n N`` scores every sentence once (a sentence a distributed sampler repeated to even the
ranks out counts once: pairs are de-duplicated). ``compute`` rebuilds each sentence's tag sequence (a word without a
prediction, whose text no sub-word covers, is ``O``) and scores it against the gold tags with seqeval:
``mode="conlleval"`` is CoNLL's conlleval script (and transformers' run_ner.py), ``"strict"`` counts an entity only
when the scheme's tags open and close it exactly.
"""

from __future__ import annotations

import torch
from seqeval.metrics import classification_report
from torchmetrics import Metric

from .tag_schemes import OUTSIDE, SCHEMES
from .windows import NO_WORD

MODES = ("conlleval", "strict")


class EntityF1(Metric):
    """Overall entity-level F1 (a fraction) from ``compute``; ``report`` holds the whole table of the last one."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, gold: list[tuple[str, ...]], label_names: tuple[str, ...], scheme: str,
                 mode: str = "conlleval"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of: {', '.join(MODES)}")
        self.gold, self.label_names, self.scheme, self.mode = gold, label_names, scheme, mode
        self.report: dict | None = None
        for name in ("sentences", "words", "predictions"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, predictions: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        first_pieces = batch["word_ids"] != NO_WORD
        rows = first_pieces.nonzero()[:, 0]
        self.sentences.append(batch["sentence_index"][rows])
        self.words.append(batch["word_ids"][first_pieces])
        self.predictions.append(predictions[first_pieces])

    def compute(self) -> torch.Tensor:
        predicted = [[OUTSIDE] * len(tags) for tags in self.gold]
        if len(self.predictions):  # a list of batches before a cross-rank sync, one tensor after it
            sentences, words, labels = (_flat(state).tolist() for state in (self.sentences, self.words,
                                                                             self.predictions))
            for sentence, word, label in zip(sentences, words, labels):
                predicted[sentence][word] = self.label_names[label]
        self.report = entity_scores([list(tags) for tags in self.gold], predicted, self.scheme, self.mode)
        return torch.tensor(self.report["overall"]["f1"])


def entity_scores(gold: list[list[str]], predicted: list[list[str]], scheme: str, mode: str) -> dict:
    """``{"overall": {precision, recall, f1, support}, "per_type": {TYPE: {...}}}`` (fractions; support: gold
    entities) by seqeval in ``mode``."""
    strict = dict(mode="strict", scheme=SCHEMES[scheme]) if mode == "strict" else {}
    table = classification_report(gold, predicted, output_dict=True, zero_division=0, **strict)
    per_type = {kind: _row(row) for kind, row in table.items() if not kind.endswith(" avg")}
    return {"overall": _row(table["micro avg"]), "per_type": per_type}


def _row(row: dict) -> dict:
    return {"precision": float(row["precision"]), "recall": float(row["recall"]), "f1": float(row["f1-score"]),
            "support": int(row["support"])}


def _flat(state: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
    """A concatenated state: one tensor after a cross-rank sync, a list of batches before."""
    return torch.cat(state) if isinstance(state, list) else state
