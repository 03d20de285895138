"""Fine-tuning on your own data (``sequence_classification.py``): a CSV/TSV/JSONL task (text, optional text
pair, label), its metrics, export to Hugging Face."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.finetune.config import SequenceClassificationConfig
from mosaicbert.finetune.data import Columns, DataFormatError, iter_table_rows, read_table
from mosaicbert.finetune.run import finetune
from mosaicbert.finetune.task import TaskSpec


def _sorted_labels(values: set[str]) -> list[str]:
    """Class names in id order: numerically when every label is an integer, else alphabetically."""
    try:
        return sorted(values, key=int)
    except ValueError:
        return sorted(values)


def _distinct_labels(path: Path, columns: Columns) -> set[str]:
    labels = set()
    for line, row in iter_table_rows(path, columns):
        value = row.get(columns.label)
        if value is None or str(value).strip() == "":
            raise DataFormatError(f"{path} line {line}: no label in column {columns.label!r}")
        labels.add(str(value))
    return labels


def build_task(cfg: SequenceClassificationConfig) -> tuple[TaskSpec, Columns]:
    """The task described by the config and its training file: columns, classes (or regression), metrics.

    The text pair column is used when the training file has it. Class names come from ``labels`` or are
    the training file's distinct labels, sorted; labels in the files may be names or class ids.
    """
    data = cfg.data
    train = Path(data.train_file)
    first = next(iter_table_rows(train, Columns(data.text_column, data.label_column)), None)
    if first is None:
        raise DataFormatError(f"{train}: no examples")
    pair = data.text_pair_column if data.text_pair_column in first[1] else None
    columns = Columns(data.text_column, data.label_column, pair)
    if cfg.task_type == "regression":
        return TaskSpec(cfg.run_name, data.text_column, pair, 1, (), ("pearson", "spearman")), columns
    names = list(cfg.labels) if cfg.labels else _sorted_labels(_distinct_labels(train, columns))
    if len(names) < 2:
        raise DataFormatError(f"{train}: classification needs at least two classes, found {names}")
    metrics = ("accuracy", "f1", "matthews") if len(names) == 2 else ("accuracy", "matthews")
    return TaskSpec(cfg.run_name, data.text_column, pair, len(names), tuple(names), metrics), columns


def run_custom_task(cfg: SequenceClassificationConfig, *, echo: Callable[[str], None] = print) -> dict[str, float]:
    """Fine-tune on ``data.train_file``, evaluate on ``data.eval_file``, export; return the metrics (fractions).

    Writes ``<output_dir>/metrics.json`` and, with ``export_dir``, a Hugging Face model directory whose
    config carries the class names (``id2label``).
    """
    task, columns = build_task(cfg)
    splits = {"train": read_table(Path(cfg.data.train_file), columns, task),
              "validation": read_table(Path(cfg.data.eval_file), columns, task)}
    echo(f"{task.name}: {len(splits['train'])} training and {len(splits['validation'])} evaluation examples, "
         + ("regression" if task.is_regression else f"{task.num_labels} classes ({', '.join(task.label_names)})"))
    hparams = cfg.hyperparameters.resolved("hyperparameters")
    metrics, model = finetune(task, splits, cfg, hparams, seed=cfg.seed)
    record = json.dumps({"task": task.name, "metrics": metrics}, indent=2)
    write_text_atomically(Path(cfg.output_dir) / "metrics.json", record)
    echo(f"{task.name}: " + ", ".join(f"{k} {100 * v:.2f}" for k, v in metrics.items()))
    if cfg.export_dir:
        from mosaicbert.models.hf_io import export_to_hf

        if task.label_names:
            model.model.config.id2label = dict(enumerate(task.label_names))
            model.model.config.label2id = {name: i for i, name in enumerate(task.label_names)}
        echo(f"exported to {export_to_hf(model, cfg.export_dir)}")
    return metrics
