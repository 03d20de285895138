"""Fine-tuning DataLoader workers: ``loader_workers`` resolves per device (2 on a GPU, 0 on CPU) and the loaders
collate the real GLUE rows in that many processes, batch for batch and epoch for epoch as in the training process
(so a job's results do not depend on the worker count)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import mosaicbert.finetune.config as finetune_config
from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.finetune.config import GlueConfig, SequenceClassificationConfig
from mosaicbert.finetune.data import build_dataloader, load_task_data, tokenize_examples
from mosaicbert.finetune.glue_tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
GLUE_TINY = ROOT / "yamls" / "test" / "glue-tiny.yaml"
CUSTOM_TINY = ROOT / "yamls" / "test" / "sequence-classification-tiny.yaml"


@pytest.mark.parametrize("device, overrides, expected", [
    ("cpu", [], 0), ("gpu", [], 2), ("gpu", ["loader_workers=5"], 5), ("gpu", ["loader_workers=0"], 0),
    ("cpu", ["loader_workers=1"], 1),
])
def test_loader_workers_default_to_the_device(monkeypatch, device, overrides, expected):
    monkeypatch.setattr(finetune_config, "default_device", lambda: device)
    assert load_config(GLUE_TINY, overrides, GlueConfig).num_loader_workers == expected


def test_sequence_classification_shares_the_key(monkeypatch):
    monkeypatch.setattr(finetune_config, "default_device", lambda: "gpu")
    assert load_config(CUSTOM_TINY, [], SequenceClassificationConfig).num_loader_workers == 2


def test_negative_loader_workers_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^config key 'loader_workers': must be 0 or more, got -1$"):
        load_config(GLUE_TINY, ["loader_workers=-1"], GlueConfig)


def test_worker_processes_collate_the_same_batches(tokenizer):
    rte = get_task("rte")
    features = tokenize_examples(load_task_data(rte, ROOT / "tests" / "fixtures" / "glue")["train"], tokenizer, 64)
    in_process = build_dataloader(features, tokenizer, 8, shuffle=True, seed=3)
    in_workers = build_dataloader(features, tokenizer, 8, shuffle=True, seed=3, num_workers=2)
    assert in_workers.num_workers == 2
    for epoch in range(2):  # every epoch shuffled as in the training process
        pairs = list(zip(in_process, in_workers, strict=True))
        assert len(pairs) == 3
        for a, b in pairs:
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
