"""One fine-tuning run with Composer's Trainer: a sequence (pair) classification or regression task, then its metrics.

Shared by the GLUE sweep (one call per task and seed, in a worker process) and ``sequence_classification.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from composer import Evaluator, Trainer

from mosaicbert.glue.data import Examples, build_dataloader, tokenize_examples
from mosaicbert.glue.tasks import TaskSpec
from mosaicbert.models import build_composer_model
from mosaicbert.tokenizer import load_tokenizer
from mosaicbert.training import build_optimizer, build_scheduler, resolve_precision

DEFAULT_MAX_SEQ_LEN = 256
# Parameters a pretrained encoder does not have (or has for another task): they start fresh.
NEW_HEADS = ("classifier", "bert.pooler")


@dataclass
class FinetuneSettings:
    """Everything a run needs besides the data: model, optimizer, schedule and hyperparameters.

    ``params`` holds ``lr, weight_decay, max_duration, batch_size`` and optionally ``eval_batch_size``,
    ``max_seq_len`` (default 256) and ``eval_interval`` (``None``: evaluate once, after training).
    """

    model: dict[str, Any]  # name, tokenizer_name, init_from, model_config
    params: dict[str, Any]
    optimizer: dict[str, Any]  # registry section; lr and weight_decay come from params
    scheduler: dict[str, Any]
    precision: str


def build_model(task: TaskSpec, settings: FinetuneSettings, *, init_from: str | None,
                expected_new_weights: tuple[str, ...], autocast_dtype=None):
    """The ComposerModel for ``task`` (``num_labels`` from the task; 1 = regression)."""
    model_cfg = settings.model
    return build_composer_model(
        model_cfg["name"], "classification",
        tokenizer_name=model_cfg["tokenizer_name"],
        model_config=dict(model_cfg.get("model_config") or {}),
        init_from=init_from if init_from is not None else model_cfg.get("init_from"),
        num_labels=task.num_labels,
        expected_new_weights=expected_new_weights,
        autocast_dtype=autocast_dtype,
    )


def finetune(task: TaskSpec, splits: dict[str, Examples], settings: FinetuneSettings, *, seed: int,
             init_from: str | None = None, expected_new_weights: tuple[str, ...] = NEW_HEADS,
             save_weights: Path | None = None):
    """Fine-tune on ``splits['train']``, evaluate on the task's eval splits; return ``(metrics, model)``.

    Metrics are keyed as ``task.metric_keys()``; ``save_weights`` writes a weights-only Composer checkpoint
    (readable as ``init_from``) atomically.
    """
    params = settings.params
    device = "gpu" if torch.cuda.is_available() else "cpu"
    precision, autocast_dtype = resolve_precision(settings.precision, device)
    tokenizer = load_tokenizer(settings.model["tokenizer_name"])
    max_seq_len = params.get("max_seq_len") or DEFAULT_MAX_SEQ_LEN
    train_loader = build_dataloader(tokenize_examples(splits["train"], tokenizer, max_seq_len), tokenizer,
                                    params["batch_size"], shuffle=True, seed=seed)
    evaluators = [
        Evaluator(label=eval_name,
                  dataloader=build_dataloader(tokenize_examples(splits[split], tokenizer, max_seq_len), tokenizer,
                                              params.get("eval_batch_size") or params["batch_size"], shuffle=False),
                  metric_names=list(task.metrics))
        for eval_name, split in task.eval_splits.items()
    ]
    torch.manual_seed(seed)  # the new classifier head's initialisation
    model = build_model(task, settings, init_from=init_from, expected_new_weights=expected_new_weights,
                        autocast_dtype=autocast_dtype)
    optimizer = build_optimizer({**settings.optimizer, "lr": params["lr"], "weight_decay": params["weight_decay"]},
                                model)
    # The last, smaller batch of an epoch cannot be split into microbatches of the full batch size: expected.
    warnings.filterwarnings("ignore", message="Cannot split tensor of length", category=UserWarning)
    trainer = Trainer(
        model=model,
        train_dataloader=train_loader,
        eval_dataloader=evaluators,
        max_duration=params["max_duration"],
        eval_interval=params.get("eval_interval") or params["max_duration"],
        optimizers=optimizer,
        schedulers=build_scheduler(settings.scheduler),
        device=device,
        precision=precision,
        seed=seed,
        progress_bar=False,
        log_to_console=False,
        loggers=[],
    )
    trainer.fit()
    metrics = {task.metric_key(eval_name, metric): float(trainer.state.eval_metrics[eval_name][metric].compute())
               for eval_name in task.eval_splits for metric in task.metrics}
    if save_weights is not None:
        save_weights.parent.mkdir(parents=True, exist_ok=True)
        tmp = save_weights.with_name(f"{save_weights.stem}.partial{save_weights.suffix}")  # suffix picks the format
        trainer.save_checkpoint(str(tmp), weights_only=True)
        tmp.replace(save_weights)
    trainer.close()
    return metrics, model
