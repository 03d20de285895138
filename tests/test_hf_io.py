"""Hugging Face import (real MiniLM weights) and export (round trip); loading the exports without this package, in
transformers 4.57 and 5: test_hf_export_versions.py."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    BertModel,
    DataCollatorForLanguageModeling,
)

from mosaicbert.models.build import build_composer_model
from mosaicbert.models.hf_io import export_to_hf
from mosaicbert.models.weights import WeightsMismatchError

EXACT_BERT = {"position_embedding_type": "absolute", "ffn_type": "mlp"}
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)


def _inputs(tokenizer, sentences):
    return dict(tokenizer(sentences, padding=True, truncation=True, max_length=64, return_tensors="pt"))


def _masked_sentences(news_sentences, count=4):
    """Real sentences with their fourth word replaced by [MASK]."""
    sentences = [s.split() for s in news_sentences if len(s.split()) > 6][:count]
    return [" ".join(words[:3] + ["[MASK]"] + words[4:]) for words in sentences]


def test_minilm_import_with_absolute_positions_matches_transformers(minilm_dir, tokenizer, news_sentences):
    reference = BertModel.from_pretrained(minilm_dir).eval()
    mosaic = build_composer_model("mosaic_bert", "mlm", init_from=str(minilm_dir), model_config=EXACT_BERT,
                                  expected_new_weights=("mlm_head",)).eval()
    baseline = build_composer_model("hf_bert", "mlm", init_from=str(minilm_dir),
                                    expected_new_weights=("cls",)).eval()
    assert mosaic.config.hidden_size == 384 and mosaic.config.num_hidden_layers == 6  # shape from the checkpoint
    batch = _inputs(tokenizer, news_sentences[:6])
    assert (batch["attention_mask"] == 0).any(), "sentences of different lengths must be padded"
    real = batch["attention_mask"].bool()
    with torch.no_grad():
        expected = reference(**batch).last_hidden_state
        ours = mosaic.model.bert(**batch).last_hidden_state
        theirs = baseline.model.bert(**batch).last_hidden_state
    assert (ours[real] - expected[real]).abs().max() <= 1e-5
    assert torch.equal(theirs[real], expected[real])


@pytest.mark.parametrize("name", ["mosaic_bert", "hf_bert"])
def test_init_layers_keeps_the_bottom_layers_of_minilm(name, minilm_dir, tokenizer, news_sentences):
    """``init_layers=3``: the network is MiniLM's first three layers, exactly (its layer-3 hidden states)."""
    reference = BertModel.from_pretrained(minilm_dir).eval()
    model = build_composer_model(name, "mlm", init_from=str(minilm_dir), init_layers=3,
                                 model_config=EXACT_BERT if name == "mosaic_bert" else None,
                                 expected_new_weights=("mlm_head" if name == "mosaic_bert" else "cls",)).eval()
    assert model.config.num_hidden_layers == 3
    batch = _inputs(tokenizer, news_sentences[:6])
    real = batch["attention_mask"].bool()
    with torch.no_grad():
        expected = reference(**batch, output_hidden_states=True).hidden_states[3]
        ours = model.model.bert(**batch).last_hidden_state
    assert (ours[real] - expected[real]).abs().max() <= 1e-5
    with pytest.raises(WeightsMismatchError, match="init_layers=7: .* has 6 encoder layers; choose 1 to 6"):
        build_composer_model(name, "mlm", init_from=str(minilm_dir), init_layers=7)


def test_alibi_import_drops_position_embeddings(minilm_dir, caplog):
    source = BertModel.from_pretrained(minilm_dir)
    with caplog.at_level(logging.INFO, logger="mosaicbert.models.mosaic_bert_import"):
        model = build_composer_model("mosaic_bert", "classification", num_labels=2, init_from=str(minilm_dir),
                                     model_config={"ffn_type": "mlp"}, expected_new_weights=("classifier",))
    assert "position embeddings are dropped" in caplog.text
    assert model.config.position_embedding_type == "alibi"
    assert not any("position_embeddings" in key for key in model.model.state_dict())
    words = model.model.bert.embeddings.word_embeddings.weight
    assert torch.equal(words[: source.config.vocab_size], source.embeddings.word_embeddings.weight)
    assert torch.equal(model.model.bert.pooler.dense.weight, source.pooler.dense.weight)


@pytest.fixture(scope="module")
def trained_mlm(tokenizer, news_sentences):
    """A tiny ALiBi + GeGLU MosaicBERT (padded vocab) after a few real MLM steps on news text."""
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "mlm", model_config=TINY)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    samples = [tokenizer(s, truncation=True, max_length=48) for s in news_sentences[:32]]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for step in range(6):
        batch = collator(samples[(step % 4) * 8:(step % 4 + 1) * 8])
        loss = model.loss(model(batch), batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.model.bert.embeddings.word_embeddings.weight.shape[0] == 30528  # vocab padded to 64
    return model.eval()


@pytest.fixture(scope="module")
def minilm_classifier(minilm_dir):
    """Real MiniLM encoder weights (exact BERT variant) under a new 3-way classifier."""
    torch.manual_seed(0)
    return build_composer_model("mosaic_bert", "classification", num_labels=3, init_from=str(minilm_dir),
                                model_config=EXACT_BERT, expected_new_weights=("classifier",)).eval()


@pytest.fixture(scope="module")
def exported(trained_mlm, minilm_classifier, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    return {"mlm": export_to_hf(trained_mlm, root / "mosaic-mlm"),
            "classification": export_to_hf(minilm_classifier, root / "mosaic-cls")}


def test_exported_mlm_gives_the_same_logits(trained_mlm, exported, tokenizer, news_sentences):
    config = json.loads((exported["mlm"] / "config.json").read_text())
    assert config["auto_map"]["AutoModelForMaskedLM"] == "modeling_mosaic_bert.MosaicBertForMaskedLM"
    assert (exported["mlm"] / "model.safetensors").is_file() and (exported["mlm"] / "vocab.txt").is_file()
    reloaded = AutoModelForMaskedLM.from_pretrained(exported["mlm"], trust_remote_code=True).eval()
    assert type(reloaded).__module__.startswith("transformers_modules.")

    sentences = _masked_sentences(news_sentences)
    batch = _inputs(tokenizer, sentences)
    batch["labels"] = torch.where(batch["input_ids"] == tokenizer.mask_token_id, batch["input_ids"], -100)
    with torch.no_grad():
        masked_logits = trained_mlm.eval_forward(batch)  # the ComposerModel: logits at masked tokens only
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        full = reloaded(**inputs).logits
    assert masked_logits.shape == (len(sentences), tokenizer.vocab_size)
    assert torch.allclose(full[batch["labels"] != -100], masked_logits, atol=1e-5)

    encoder = AutoModel.from_pretrained(exported["mlm"], trust_remote_code=True).eval()  # auto_map: AutoModel
    real = inputs["attention_mask"].bool()
    with torch.no_grad():
        hidden = encoder(**inputs).last_hidden_state
        expected_hidden = trained_mlm.model.bert(**inputs).last_hidden_state
    assert torch.allclose(hidden[real], expected_hidden[real], atol=1e-5)


def test_exported_classifier_gives_the_same_logits(minilm_classifier, exported, tokenizer, news_sentences):
    config = json.loads((exported["classification"] / "config.json").read_text())
    assert config["auto_map"]["AutoModelForSequenceClassification"].endswith("MosaicBertForSequenceClassification")
    reloaded = AutoModelForSequenceClassification.from_pretrained(exported["classification"],
                                                                  trust_remote_code=True).eval()
    batch = _inputs(tokenizer, news_sentences[10:16])
    with torch.no_grad():
        expected = minilm_classifier.model(**batch).logits
        assert torch.equal(minilm_classifier.eval_forward(batch), expected.argmax(-1))
        assert torch.allclose(reloaded(**batch).logits, expected, atol=1e-5)


def test_hf_bert_export_loads_without_remote_code(tokenizer, news_sentences, tmp_path):
    model = build_composer_model("hf_bert", "mlm", model_config=TINY).eval()
    export_to_hf(model, tmp_path / "bert")
    out = export_to_hf(model, tmp_path / "bert")  # re-export replaces the directory atomically
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bert"]
    assert "auto_map" not in json.loads((out / "config.json").read_text())
    reloaded = AutoModelForMaskedLM.from_pretrained(out).eval()
    batch = _inputs(tokenizer, news_sentences[:3])
    with torch.no_grad():
        assert torch.allclose(reloaded(**batch).logits, model.model(**batch).logits, atol=1e-5)
