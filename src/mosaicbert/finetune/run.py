"""One fine-tuning run with Composer's Trainer: ``fit`` (every task: token classification and QA too), and
``finetune`` for a sequence (pair) classification or regression task, then its metrics.

``finetune`` is shared by the GLUE sweep (one call per task and seed, in a worker process) and
``sequence_classification.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from composer import Evaluator, Trainer
from composer.models import ComposerModel

from mosaicbert.atomic_write import atomic_path
from mosaicbert.config.components import build_optimizer, build_scheduler
from mosaicbert.finetune.config import FinetuneConfig, Hyperparameters
from mosaicbert.finetune.data import Examples, build_dataloader, tokenize_examples
from mosaicbert.finetune.task import TaskSpec
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.precision import resolve_precision
from mosaicbert.tokenizer import load_tokenizer


def new_heads(cfg: FinetuneConfig, task: str = "classification") -> tuple[str, ...]:
    """Parameters a pretrained encoder of the model's family does not have for ``task`` (or has for another task):
    they start fresh (``NetworkFamily.new_heads``)."""
    return MODEL_REGISTRY[cfg.model.name].new_heads[task]


def build_model(task: TaskSpec, cfg: FinetuneConfig, *, init_from: str | None,
                expected_new_weights: tuple[str, ...], autocast_dtype=None):
    """The ComposerModel for ``task`` (``num_labels`` from the task; 1 = regression)."""
    return build_composer_model(
        cfg.model.name, "classification",
        tokenizer_name=cfg.model.tokenizer_name,
        model_config=dict(cfg.model.model_config),
        init_from=init_from if init_from is not None else cfg.model.init_from,
        init_layers=cfg.model.init_layers,  # a no-op on an MNLI checkpoint already cut to that many layers
        num_labels=task.num_labels,
        expected_new_weights=expected_new_weights,
        autocast_dtype=autocast_dtype,
    )


def fit(model: ComposerModel, train_loader, evaluators: list[Evaluator], cfg: FinetuneConfig,
        hparams: Hyperparameters, *, seed: int, checkpoint_dir: Path | None = None) -> Trainer:
    """Train ``model`` with the config's optimizer, schedule, precision and device, evaluating every
    ``hparams.eval_interval``; return the (fitted, open) Trainer.

    With ``checkpoint_dir`` a checkpoint is kept there at every evaluation and at the end, and a re-run of the same
    command resumes from the newest one (Composer's autoresume; a finished run trains nothing and evaluates again).
    """
    optimizer = build_optimizer({**cfg.optimizer, "lr": hparams.lr, "weight_decay": hparams.weight_decay}, model)
    # The last, smaller batch of an epoch cannot be split into microbatches of the full batch size: expected.
    warnings.filterwarnings("ignore", message="Cannot split tensor of length", category=UserWarning)
    checkpointing = {}
    if checkpoint_dir is not None:
        checkpointing = dict(run_name=cfg.run_name, save_folder=str(checkpoint_dir), autoresume=True,
                             save_interval=hparams.eval_interval, save_num_checkpoints_to_keep=1)
    trainer = Trainer(
        model=model,
        train_dataloader=train_loader,
        eval_dataloader=evaluators,
        max_duration=hparams.max_duration,
        eval_interval=hparams.eval_interval,
        optimizers=optimizer,
        schedulers=build_scheduler(cfg.scheduler),
        device=cfg.device,
        precision=resolve_precision(cfg.precision, cfg.device)[0],
        seed=seed,
        progress_bar=False,
        log_to_console=False,
        loggers=[],
        **checkpointing,
    )
    if not train_unless_finished(trainer):
        trainer.eval()  # autoresume found the finished run: nothing to train, its metrics are computed again
    return trainer


def train_unless_finished(trainer: Trainer) -> bool:
    """``trainer.fit()``, unless autoresume found the run already at ``max_duration`` (Composer would refuse to
    train it again); True when it trained."""
    duration = trainer.state.max_duration
    if trainer.state.timestamp.get(duration.unit) >= duration:
        return False
    trainer.fit()
    return True


def finetune(task: TaskSpec, splits: dict[str, Examples], cfg: FinetuneConfig, hparams: Hyperparameters, *,
             seed: int, init_from: str | None = None, expected_new_weights: tuple[str, ...] | None = None,
             save_weights: Path | None = None):
    """Fine-tune on ``splits['train']``, evaluate on the task's eval splits; return ``(metrics, model)``.

    ``hparams`` are resolved (every field set). ``init_from`` replaces ``cfg.model.init_from`` (the GLUE
    sweep's MNLI checkpoint); ``expected_new_weights`` defaults to the family's ``new_heads``. Metrics are keyed as
    ``task.metric_keys()``; ``save_weights`` writes a weights-only Composer checkpoint (readable as ``init_from``)
    atomically.
    """
    autocast_dtype = resolve_precision(cfg.precision, cfg.device)[1]
    tokenizer = load_tokenizer(cfg.model.tokenizer_name)
    workers = cfg.num_loader_workers
    train_loader = build_dataloader(tokenize_examples(splits["train"], tokenizer, hparams.max_seq_len), tokenizer,
                                    hparams.batch_size, shuffle=True, seed=seed, num_workers=workers)
    evaluators = [
        Evaluator(label=eval_name,
                  dataloader=build_dataloader(tokenize_examples(splits[split], tokenizer, hparams.max_seq_len),
                                              tokenizer, hparams.eval_batch_size, shuffle=False, num_workers=workers),
                  metric_names=list(task.metrics))
        for eval_name, split in task.eval_splits.items()
    ]
    torch.manual_seed(seed)  # the new classifier head's initialisation
    if expected_new_weights is None:
        expected_new_weights = new_heads(cfg)
    model = build_model(task, cfg, init_from=init_from, expected_new_weights=expected_new_weights,
                        autocast_dtype=autocast_dtype)
    trainer = fit(model, train_loader, evaluators, cfg, hparams, seed=seed)
    metrics = {task.metric_key(eval_name, metric): float(trainer.state.eval_metrics[eval_name][metric].compute())
               for eval_name in task.eval_splits for metric in task.metrics}
    if save_weights is not None:
        with atomic_path(save_weights) as tmp:  # the temporary name keeps the suffix, which picks the format
            trainer.save_checkpoint(str(tmp), weights_only=True)
    trainer.close()
    return metrics, model
