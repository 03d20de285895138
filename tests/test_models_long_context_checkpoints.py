"""``init_from=mosaicml/mosaic-bert-base-seqlen-{256,512,1024,2048}``: the published long-context models import through
the original-layout path, by their Hub name, and compute the original's equations at their training length.

Offline: a tiny checkpoint in the original layout (config with ``alibi_starting_size`` = the training length) is
placed in a Hugging Face cache under the Hub name, as ``snapshot_download`` leaves a real download.
"""

from __future__ import annotations

import json

import huggingface_hub.constants
import pytest
import torch
from test_models_original_checkpoint import ORIGINAL_CONFIG, original_state_dict, reference_forward

from mosaicbert.models.build import build_composer_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    return tmp_path


def cache_original_model(cache, name: str, config: dict, state_dict: dict) -> None:
    repo = cache / f"models--{name.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    (snapshot / "config.json").write_text(json.dumps(config))
    torch.save(state_dict, snapshot / "pytorch_model.bin")


@pytest.mark.parametrize("length", [256, 512, 1024, 2048])
def test_published_long_context_model_imports_by_hub_name(length, hub_cache, tokenizer, news_articles):
    name = f"mosaicml/mosaic-bert-base-seqlen-{length}"
    sd = original_state_dict()
    cache_original_model(hub_cache, name, {**ORIGINAL_CONFIG, "alibi_starting_size": length}, sd)
    model = build_composer_model("mosaic_bert", "mlm", init_from=name).model.eval()
    assert model.config.alibi_starting_size == length and model.config.position_embedding_type == "alibi"

    longest = sorted(news_articles, key=len)[-2:]  # real articles of several thousand tokens
    rows = [tokenizer(text, truncation=True, max_length=size) for text, size in zip(longest, (length, length // 2))]
    batch = tokenizer.pad(rows, padding="max_length", max_length=length, return_tensors="pt")
    assert batch["attention_mask"][0].all() and not batch["attention_mask"][1].all()  # full length, and padded
    real = batch["attention_mask"].bool()
    with torch.no_grad():
        logits = model(**batch).logits
        _, expected = reference_forward(sd, **batch)
    torch.testing.assert_close(logits[real], expected[real], rtol=1e-4, atol=1e-4)
