"""The ModernBERT recipes (yamls/modernbert-*.yaml) carry the published numbers, and every one of them loads.

The tests marked ``needs_phases`` load the full pretraining configs, which use the keys of the issue "Long context
and training in phases" (``load_path``, ``load_weights_only``, ``reset_time``; ``scheduler.name:
warmup_stable_decay``; ``algorithms.batch_size_warmup``): they skip until those are in the tree and run from then on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from optimi import StableAdamW
from transformers import ModernBertConfig, ModernBertForMaskedLM

from mosaicbert.finetune.config import GlueConfig
from mosaicbert.training import build_optimizer, load_config
from mosaicbert.training.registries import ALGORITHMS, SCHEDULERS
from mosaicbert.training.schema import PretrainConfig

YAMLS = Path(__file__).resolve().parents[1] / "yamls"
PHASES = ["modernbert-base.yaml", "modernbert-base-context-extension.yaml", "modernbert-base-decay.yaml"]
PHASES_MERGED = ("warmup_stable_decay" in SCHEDULERS and "batch_size_warmup" in ALGORITHMS
                 and {"load_path", "reset_time"} <= set(PretrainConfig.__dataclass_fields__))
needs_phases = pytest.mark.skipif(not PHASES_MERGED, reason="needs the phases, WSD and batch-size warmup keys")


def _recipe(name: str) -> dict:
    return yaml.safe_load((YAMLS / name).read_text())


@pytest.mark.parametrize("name, parameters", [("modernbert-base.yaml", 149.7e6), ("modernbert-large.yaml", 395.9e6)])
def test_model_sections_have_the_published_shapes(name, parameters):
    """ModernBERT-base 149M and -large 395M parameters (the paper's counts)."""
    with torch.device("meta"):
        model = ModernBertForMaskedLM(ModernBertConfig(**_recipe(name)["model"]["model_config"]))
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(parameters, rel=1e-3)


@pytest.mark.parametrize("name", [*PHASES, "modernbert-large.yaml"])
def test_optimizer_sections_build_stable_adamw(name):
    optimizer = build_optimizer(_recipe(name)["optimizer"], torch.nn.Linear(4, 4))
    assert isinstance(optimizer, StableAdamW)
    assert optimizer.defaults["weight_decay"] == 1e-5 and optimizer.defaults["eps"] == 1e-6
    assert (optimizer.defaults["beta1"], optimizer.defaults["beta2"]) == (0.9, 0.98)


def test_glue_config_loads_with_the_mnli_started_tasks():
    cfg = load_config(YAMLS / "finetuning" / "glue" / "modernbert-base.yaml", [], GlueConfig)
    assert cfg.model.name == "modernbert" and cfg.model.init_from == "answerdotai/ModernBERT-base"
    assert cfg.tasks_from_mnli() == ["rte", "mrpc", "stsb"]


@needs_phases
def test_phase_one_has_the_published_numbers():
    cfg = load_config(YAMLS / PHASES[0], [], PretrainConfig)
    assert (cfg.max_seq_len, cfg.masking.train_rate, cfg.masking.eval_rate) == (1024, 0.30, 0.15)
    assert cfg.global_train_batch_size == 4608 and cfg.max_duration == "1719000000000tok"
    assert cfg.optimizer["lr"] == 8e-4 and cfg.scheduler["t_warmup"] == "3000000000tok"
    assert cfg.algorithms["batch_size_warmup"]["t_warmup"] == "50000000000tok"


@needs_phases
def test_later_phases_start_from_the_one_before():
    extension = load_config(YAMLS / PHASES[1], [], PretrainConfig)
    decay = load_config(YAMLS / PHASES[2], [], PretrainConfig)
    assert extension.max_seq_len == decay.max_seq_len == 8192
    assert extension.model.model_config["global_rope_theta"] == 160000.0
    assert extension.model.model_config["local_rope_theta"] == 10000.0
    assert extension.optimizer["lr"] == 3e-4 and extension.scheduler["name"] == "constant"
    assert extension.global_train_batch_size == decay.global_train_batch_size == 576
    assert (extension.max_duration, decay.max_duration) == ("250000000000tok", "50000000000tok")
    assert decay.scheduler["decay_shape"] == "1-sqrt" and decay.scheduler["alpha_f"] == 0.001
    phase_one = load_config(YAMLS / PHASES[0], [], PretrainConfig)
    assert Path(extension.load_path).parent == Path(phase_one.save_folder) and extension.reset_time
    assert Path(decay.load_path).parent == Path(extension.save_folder) and decay.reset_time
