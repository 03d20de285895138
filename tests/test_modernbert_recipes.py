"""The ModernBERT recipes (yamls/modernbert-*.yaml) carry the published numbers, and every one of them loads.

The full pretraining configs load as on their 8 GPUs, each later phase from the checkpoint of the one before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from optimi import StableAdamW
from transformers import ModernBertConfig, ModernBertForMaskedLM

from mosaicbert.config.components import build_optimizer
from mosaicbert.config.loading import load_config
from mosaicbert.finetune.config import GlueConfig
from mosaicbert.training.schema import PretrainConfig

YAMLS = Path(__file__).resolve().parents[1] / "yamls"
PHASES = ["modernbert-base.yaml", "modernbert-base-context-extension.yaml", "modernbert-base-decay.yaml"]


@pytest.fixture
def load_recipe(tmp_path, monkeypatch):
    """Loads a pretraining recipe as on its 8 GPUs, with its data folders and the phase before's checkpoint here."""
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    for split in ("train", "val"):
        (tmp_path / "data" / split).mkdir(parents=True)
        (tmp_path / "data" / split / "index.json").write_text('{"version": 2, "shards": []}')
    (tmp_path / "latest-rank0.pt").touch()

    def load(name: str):
        overrides = ["device=gpu", f"train_loader.local={tmp_path / 'data'}", f"eval_loader.local={tmp_path / 'data'}"]
        if "load_path" in _recipe(name):
            overrides.append(f"load_path={tmp_path / 'latest-rank0.pt'}")
        return load_config(YAMLS / name, overrides, PretrainConfig)
    return load


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


def test_phase_one_has_the_published_numbers(load_recipe):
    cfg = load_recipe(PHASES[0])
    assert (cfg.max_seq_len, cfg.masking.train_rate, cfg.masking.eval_rate) == (1024, 0.30, 0.15)
    assert cfg.global_train_batch_size == 4608 and cfg.max_duration == "1719000000000tok"
    assert cfg.optimizer["lr"] == 8e-4 and cfg.scheduler["t_warmup"] == "3000000000tok"
    assert cfg.algorithms["batch_size_warmup"]["t_warmup"] == "50000000000tok"


def test_later_phases_start_from_the_one_before(load_recipe):
    extension, decay = load_recipe(PHASES[1]), load_recipe(PHASES[2])
    assert extension.max_seq_len == decay.max_seq_len == 8192
    assert extension.model.model_config["global_rope_theta"] == 160000.0
    assert extension.model.model_config["local_rope_theta"] == 10000.0
    assert extension.optimizer["lr"] == 3e-4 and extension.scheduler["name"] == "constant"
    assert extension.global_train_batch_size == decay.global_train_batch_size == 576
    assert (extension.max_duration, decay.max_duration) == ("250000000000tok", "50000000000tok")
    assert decay.scheduler["decay_shape"] == "1-sqrt" and decay.scheduler["alpha_f"] == 0.001
    phase_one = load_recipe(PHASES[0])
    assert Path(_recipe(PHASES[1])["load_path"]).parent == Path(phase_one.save_folder) and extension.reset_time
    assert Path(_recipe(PHASES[2])["load_path"]).parent == Path(extension.save_folder) and decay.reset_time
