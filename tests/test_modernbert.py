"""The modernbert family: transformers' ModernBERT built from config with bert-base-uncased ids, checkpoints that
transformers writes (full, headless, cut to fewer layers), native export to plain transformers, and its FLOPs."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import ModernBertConfig, ModernBertForMaskedLM

from mosaicbert.data.masking import MLMMasker
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.flops import attended_pairs, mlm_training_flops, step_flops
from mosaicbert.models.hf_io import export_to_hf
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.models.weights import WeightsMismatchError

# three layers: global, local, local; a 6-token window (3 each side) so short news sentences feel it
TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=48, local_attention=6)


def _masked_batch(tokenizer, sentences, rate=0.3):
    batch = dict(tokenizer(sentences, padding=True, truncation=True, max_length=40, return_tensors="pt"))
    assert (batch["attention_mask"] == 0).any(), "the batch must contain padding"
    return MLMMasker(tokenizer, rate=rate, seed=3)(batch)


@pytest.fixture(scope="module")
def batch(tokenizer, news_sentences):
    return _masked_batch(tokenizer, news_sentences[:6])


@pytest.fixture(scope="module")
def hf_checkpoint(tokenizer, tmp_path_factory):
    """A tiny ModernBertForMaskedLM that transformers itself writes with ``save_pretrained`` (bert-base-uncased ids)."""
    torch.manual_seed(0)
    config = ModernBertConfig(**TINY, vocab_size=30528, pad_token_id=tokenizer.pad_token_id,
                              cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id,
                              bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id)
    model = ModernBertForMaskedLM(config).eval()
    path = tmp_path_factory.mktemp("hf") / "modernbert-mlm"
    model.save_pretrained(path)
    return path, model


def test_family_config_comes_from_the_tokenizer_and_decodes_masked_tokens_only(tokenizer, batch):
    model = build_composer_model("modernbert", "mlm", model_config=TINY)
    config = model.model.config
    assert "modernbert" in MODEL_REGISTRY
    assert config.vocab_size == 30528 and config.vocab_size % 64 == 0  # 30522 padded to a multiple of 64
    assert (config.pad_token_id, config.cls_token_id, config.sep_token_id) == (0, 101, 102)
    assert config.sparse_prediction and config._attn_implementation == "sdpa"
    outputs = model(batch)
    masked = batch["labels"] != -100
    assert outputs.logits.shape == (int(masked.sum()), 30528)  # the decoder ran on the masked tokens only
    # transformers' own class with the same weights computes the same loss and logits
    reference = ModernBertForMaskedLM(config).eval()
    reference.load_state_dict(model.model.state_dict())
    model.eval()
    with torch.no_grad():
        ours = model(batch)
        theirs = reference(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           labels=batch["labels"])
    assert torch.equal(ours.logits, theirs.logits) and torch.equal(ours.loss, theirs.loss)
    assert torch.equal(model.eval_forward(batch), theirs.logits)


def test_transformers_checkpoint_imports_with_identical_logits(hf_checkpoint, batch):
    path, reference = hf_checkpoint
    model = build_composer_model("modernbert", "mlm", init_from=str(path)).eval()
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        assert torch.equal(model.model.model(**inputs).last_hidden_state, reference.model(**inputs).last_hidden_state)
        assert torch.equal(model.eval_forward(batch), reference(**inputs).logits[batch["labels"] != -100])


def test_init_layers_keeps_the_bottom_layers(hf_checkpoint):
    path, reference = hf_checkpoint
    model = build_composer_model("modernbert", "mlm", init_from=str(path), init_layers=2)
    assert model.model.config.num_hidden_layers == 2 and len(model.model.model.layers) == 2
    ours, theirs = model.model.state_dict(), reference.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    with pytest.raises(WeightsMismatchError, match="init_layers=4: .* has 3 encoder layers; choose 1 to 3"):
        build_composer_model("modernbert", "mlm", init_from=str(path), init_layers=4)


def test_headless_checkpoint_needs_its_heads_declared_new(hf_checkpoint, tmp_path):
    _, reference = hf_checkpoint
    reference.model.save_pretrained(tmp_path / "encoder")  # ModernBertModel: keys without the "model." prefix
    with pytest.raises(WeightsMismatchError) as caught:
        build_composer_model("modernbert", "mlm", init_from=str(tmp_path / "encoder"))
    assert "expected_new_weights=('decoder', 'head')" in str(caught.value) and "\n" not in str(caught.value)
    model = build_composer_model("modernbert", "mlm", init_from=str(tmp_path / "encoder"),
                                 expected_new_weights=("decoder", "head"))
    assert torch.equal(model.model.model.layers[2].mlp.Wo.weight, reference.model.layers[2].mlp.Wo.weight)
    classifier = build_composer_model("modernbert", "classification", num_labels=3,
                                      init_from=str(tmp_path / "encoder"),
                                      expected_new_weights=MODEL_REGISTRY["modernbert"].new_heads["classification"])
    assert torch.equal(classifier.model.model.embeddings.tok_embeddings.weight,
                       reference.model.embeddings.tok_embeddings.weight)


def test_other_families_weights_are_refused_in_one_line(minilm_dir):
    with pytest.raises(ValueError, match="holds a 'bert' model; modernbert starts only from ModernBERT"):
        build_composer_model("modernbert", "mlm", init_from=str(minilm_dir))


def test_export_is_plain_transformers_and_reloads_the_trained_weights(tokenizer, news_sentences, tmp_path):
    """Exported with transformers' own class names and no code of ours (loading it where this package does not
    exist, in transformers 4.57 and 5: tests/test_hf_export_versions.py); trained weights come back exactly."""
    torch.manual_seed(0)
    mlm = build_composer_model("modernbert", "mlm", model_config=TINY)
    optimizer = torch.optim.AdamW(mlm.parameters(), lr=3e-3)
    for step in range(3):  # trained weights, not the initialisation
        train_batch = _masked_batch(tokenizer, news_sentences[8 * step:8 * step + 8])
        mlm.loss(mlm(train_batch), train_batch).backward()
        optimizer.step()
        optimizer.zero_grad()
    directory = export_to_hf(mlm.eval(), tmp_path / "mlm")
    config = json.loads((directory / "config.json").read_text())
    assert config["architectures"] == ["ModernBertForMaskedLM"] and "auto_map" not in config
    assert not list(directory.glob("*.py"))
    reloaded = ModernBertForMaskedLM.from_pretrained(directory).eval()
    inputs = dict(tokenizer(news_sentences[:4], padding=True, return_tensors="pt"))
    real = inputs["attention_mask"].bool()
    with torch.no_grad():
        assert torch.equal(reloaded(**inputs).logits[real], mlm.model(**inputs).logits[real])


@pytest.mark.parametrize("length, half_window", [(1, 3), (4, 3), (5, 3), (30, 3), (30, None)])
def test_attended_pairs_count_the_window(length, half_window):
    positions = torch.arange(length)
    distance = (positions[:, None] - positions[None, :]).abs()
    expected = distance.numel() if half_window is None else int((distance <= half_window).sum())
    assert attended_pairs(torch.tensor([length]), half_window) == expected


def test_flops_match_the_counted_matmuls_of_eager_attention(batch):
    """Eager attention is plain matmuls over every padded slot (the window a mask): what ``step_flops`` executes,
    besides each layer's RoPE angle table (positions x frequencies, forward only), which is not a model FLOP."""
    model = build_composer_model("modernbert", "mlm", model_config=TINY)
    shape_of = MODEL_REGISTRY["modernbert"].flop_shape
    model.model.config._attn_implementation = "eager"
    with FlopCounterMode(display=False) as counter:
        model.loss(model(batch), batch).backward()
    rope_tables = 3 * 2 * (TINY["hidden_size"] // TINY["num_attention_heads"] // 2) * batch["input_ids"].shape[1]
    assert counter.get_total_flops() - rope_tables == mlm_training_flops(shape_of(model.model.config), None, batch)
    config, mask, masked = model.model.config, batch["attention_mask"], float((batch["labels"] != -100).sum())
    executed, needed = step_flops(shape_of(config), mask, masked)
    assert needed < executed  # real tokens and the local window only
    config._attn_implementation = "flash_attention_2"  # unpadded: executes what it needs
    assert step_flops(shape_of(config), mask, masked) == (needed, needed)
