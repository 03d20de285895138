"""One extractive-QA fine-tuning run (``question_answering.py``): read and check the files, cut the windows, train
with the shared loop (``finetune.run.fit``: resumable), score the evaluation split, write ``metrics.json`` and
``predictions.json`` (rank 0), export to Hugging Face."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import torch
from composer import Evaluator
from composer.utils import dist

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.finetune.data import build_dataloader
from mosaicbert.finetune.question_answering.config import QuestionAnsweringConfig
from mosaicbert.finetune.question_answering.data import read_examples
from mosaicbert.finetune.question_answering.features import prepare_features
from mosaicbert.finetune.question_answering.metric import SquadMetric
from mosaicbert.finetune.question_answering.postprocess import SpanRules
from mosaicbert.finetune.run import fit
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.precision import resolve_precision

TASK = "question_answering"
EVAL_LABEL = "eval"
METRIC = "squad"


def build_model(cfg: QuestionAnsweringConfig, autocast_dtype):
    """The family's QA network (a fresh ``qa_outputs`` head on ``init_from``'s encoder) in its Composer wrapper."""
    return build_composer_model(
        cfg.model.name, TASK, tokenizer_name=cfg.model.tokenizer_name, model_config=dict(cfg.model.model_config),
        init_from=cfg.model.init_from, init_layers=cfg.model.init_layers,
        expected_new_weights=MODEL_REGISTRY[cfg.model.name].new_heads[TASK], autocast_dtype=autocast_dtype)


def window_length(cfg: QuestionAnsweringConfig, model) -> int | None:
    """``max_seq_len``, or with ``whole_context`` the model's own length (None: no limit, one window a context)."""
    hp = cfg.hyperparameters.resolved("hyperparameters")
    if not hp.whole_context:
        return hp.max_seq_len
    return MODEL_REGISTRY[cfg.model.name].max_length(model.model.config)


def run_question_answering(cfg: QuestionAnsweringConfig, *,
                           echo: Callable[[str], None] = print) -> dict[str, float]:
    """Fine-tune on ``data.train_file``, evaluate on ``data.eval_file``; return exact match and F1 (fractions)."""
    hp = cfg.hyperparameters.resolved("hyperparameters")
    train_examples, eval_examples = read_examples(cfg.data.train_file), read_examples(cfg.data.eval_file)
    rules = SpanRules(hp.n_best_size, hp.max_answer_length,
                      null_answers=not all(e.answerable for e in train_examples + eval_examples),
                      null_score_diff_threshold=hp.null_score_diff_threshold)
    torch.manual_seed(cfg.seed)  # the new head's initialisation
    model = build_model(cfg, resolve_precision(cfg.precision, cfg.device)[1])
    tokenizer = model.tokenizer
    max_len = window_length(cfg, model)
    train = prepare_features(train_examples, tokenizer, max_len=max_len, stride=hp.doc_stride, training=True)
    evaluation = prepare_features(eval_examples, tokenizer, max_len=max_len, stride=hp.doc_stride, training=False)
    echo(f"{cfg.run_name}: {len(train_examples)} training questions ({len(train.rows)} windows), "
         f"{len(eval_examples)} evaluation questions ({len(evaluation.rows)} windows), windows of "
         + (f"{max_len} tokens" if max_len else "whole contexts")
         + (", unanswerable questions allowed (SQuAD v2.0)" if rules.null_answers else ""))
    workers = cfg.num_loader_workers
    train_loader = build_dataloader(train.rows, tokenizer, hp.batch_size, shuffle=True, seed=cfg.seed,
                                    num_workers=workers)
    eval_loader = build_dataloader(evaluation.rows, tokenizer, hp.eval_batch_size, shuffle=False,
                                   num_workers=workers)
    model.val_metrics = {METRIC: SquadMetric(eval_examples, evaluation.windows, rules)}
    trainer = fit(model, train_loader, [Evaluator(label=EVAL_LABEL, dataloader=eval_loader, metric_names=[METRIC])],
                  cfg, hp, seed=cfg.seed, checkpoint_dir=cfg.checkpoint_dir)
    metric = trainer.state.eval_metrics[EVAL_LABEL][METRIC]
    metrics = {name: float(value) for name, value in metric.compute().items()}
    trainer.close()
    if dist.get_global_rank() == 0:
        out = Path(cfg.output_dir)
        write_text_atomically(out / "predictions.json", json.dumps(metric.predictions, indent=1))
        write_text_atomically(out / "metrics.json", json.dumps(
            {"task": cfg.run_name, "metrics": metrics, "questions": len(eval_examples),
             "windows": len(evaluation.rows), "window_length": max_len}, indent=2))
        echo(f"{cfg.run_name}: " + ", ".join(f"{k} {100 * v:.2f}" for k, v in metrics.items()))
        if cfg.export_dir:
            from mosaicbert.models.hf_io import export_to_hf

            echo(f"exported to {export_to_hf(model, cfg.export_dir)}")
    return metrics
