"""Checkpoints of the original MosaicBERT (mosaicml/examples layout) and of earlier versions of this recipe load.

The original checkpoint here is written exactly in the original's layout (config.json keys of its BertConfig,
state-dict names of its ``bert_layers.py``), tiny and random; its logits are checked against a reference forward
written below from the original's equations.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from composer import Trainer
from safetensors.torch import save_file

from mosaicbert.models.build import build_composer_model
from mosaicbert.models.hf_io import export_to_hf
from mosaicbert.models.weights import WeightsMismatchError

HIDDEN, HEADS, INTERMEDIATE, LAYERS, VOCAB = 32, 4, 48, 2, 30528  # the original pads 30522 to a multiple of 8
EPS = 1e-12
# config.json of the original's BertForMaskedLM (transformers BertConfig + alibi_starting_size), tiny shape
ORIGINAL_CONFIG = {
    "_name_or_path": "bert-base-uncased", "alibi_starting_size": 512, "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.0, "auto_map": {"AutoConfig": "configuration_bert.BertConfig",
                                                       "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM"},
    "classifier_dropout": None, "gradient_checkpointing": False, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": HIDDEN, "initializer_range": 0.02, "intermediate_size": INTERMEDIATE, "layer_norm_eps": EPS,
    "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": HEADS,
    "num_hidden_layers": LAYERS, "pad_token_id": 0, "position_embedding_type": "absolute",
    "torch_dtype": "float32", "transformers_version": "4.26.0", "type_vocab_size": 2, "use_cache": True,
    "vocab_size": VOCAB,
}


def original_state_dict() -> dict[str, torch.Tensor]:
    """Random weights under the original's names (BertForMaskedLM: ``bert.*`` encoder, ``cls.predictions.*``)."""
    g = torch.Generator().manual_seed(0)

    def rand(*shape, scale=0.2, centre=0.0):
        return centre + scale * torch.randn(*shape, generator=g)

    sd = {"bert.embeddings.word_embeddings.weight": rand(VOCAB, HIDDEN),
          "bert.embeddings.token_type_embeddings.weight": rand(2, HIDDEN),
          "bert.embeddings.LayerNorm.weight": rand(HIDDEN, centre=1.0), "bert.embeddings.LayerNorm.bias": rand(HIDDEN)}
    for i in range(LAYERS):
        p = f"bert.encoder.layer.{i}."
        sd |= {p + "attention.self.Wqkv.weight": rand(3 * HIDDEN, HIDDEN),
               p + "attention.self.Wqkv.bias": rand(3 * HIDDEN),
               p + "attention.output.dense.weight": rand(HIDDEN, HIDDEN),
               p + "attention.output.dense.bias": rand(HIDDEN),
               p + "attention.output.LayerNorm.weight": rand(HIDDEN, centre=1.0),
               p + "attention.output.LayerNorm.bias": rand(HIDDEN),
               p + "mlp.gated_layers.weight": rand(2 * INTERMEDIATE, HIDDEN),
               p + "mlp.wo.weight": rand(HIDDEN, INTERMEDIATE), p + "mlp.wo.bias": rand(HIDDEN),
               p + "mlp.layernorm.weight": rand(HIDDEN, centre=1.0), p + "mlp.layernorm.bias": rand(HIDDEN)}
    sd |= {"cls.predictions.transform.dense.weight": rand(HIDDEN, HIDDEN),
           "cls.predictions.transform.dense.bias": rand(HIDDEN),
           "cls.predictions.transform.LayerNorm.weight": rand(HIDDEN, centre=1.0),
           "cls.predictions.transform.LayerNorm.bias": rand(HIDDEN),
           "cls.predictions.decoder.weight": sd["bert.embeddings.word_embeddings.weight"],  # tied
           "cls.predictions.decoder.bias": rand(VOCAB)}
    return sd


def write_original_dir(path: Path, state_dict: dict[str, torch.Tensor], weights_file: str) -> Path:
    """An HF directory as the original's ``save_pretrained`` writes it, or (``composer``) a Composer checkpoint
    of the original recipe: weights under ``model.``, the HF config in the ``huggingface`` integration state."""
    if weights_file == "composer":
        path.parent.mkdir(parents=True, exist_ok=True)
        config = {"model": {"config": {"content": ORIGINAL_CONFIG}}}
        torch.save({"state": {"model": {f"model.{k}": v for k, v in state_dict.items()},
                              "integrations": {"huggingface": config}}}, path.with_suffix(".pt"))
        return path.with_suffix(".pt")
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(ORIGINAL_CONFIG, indent=2))
    if weights_file == "pytorch_model.bin":
        torch.save(state_dict, path / weights_file)  # as torch.save of the original's state_dict()
    else:  # save_pretrained's safetensors: the tied decoder weight is stored once
        save_file({k: v for k, v in state_dict.items() if k != "cls.predictions.decoder.weight"}, path / weights_file)
    return path


def reference_forward(sd, input_ids, attention_mask, token_type_ids):
    """The original's equations on padded tensors: embeddings, post-LN layers with ALiBi, GeGLU, MLM head."""
    batch, seq = input_ids.shape
    head_dim = HIDDEN // HEADS
    x = sd["bert.embeddings.word_embeddings.weight"][input_ids] + sd["bert.embeddings.token_type_embeddings.weight"][
        token_type_ids]
    x = F.layer_norm(x, (HIDDEN,), sd["bert.embeddings.LayerNorm.weight"], sd["bert.embeddings.LayerNorm.bias"], EPS)
    slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / HEADS) for h in range(HEADS)])  # power-of-two head count
    distance = (torch.arange(seq)[None, :] - torch.arange(seq)[:, None]).abs().float()
    bias = -slopes[:, None, None] * distance + (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
    for i in range(LAYERS):
        p = f"bert.encoder.layer.{i}."
        qkv = x @ sd[p + "attention.self.Wqkv.weight"].T + sd[p + "attention.self.Wqkv.bias"]
        q, k, v = qkv.view(batch, seq, 3, HEADS, head_dim).permute(2, 0, 3, 1, 4)
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head_dim) + bias, dim=-1)
        attended = (probs @ v).permute(0, 2, 1, 3).reshape(batch, seq, HIDDEN)
        attention_out = attended @ sd[p + "attention.output.dense.weight"].T + sd[p + "attention.output.dense.bias"]
        a = F.layer_norm(x + attention_out, (HIDDEN,), sd[p + "attention.output.LayerNorm.weight"],
                         sd[p + "attention.output.LayerNorm.bias"], EPS)
        h = a @ sd[p + "mlp.gated_layers.weight"].T
        glu = F.gelu(h[..., :INTERMEDIATE]) * h[..., INTERMEDIATE:]
        x = F.layer_norm(a + glu @ sd[p + "mlp.wo.weight"].T + sd[p + "mlp.wo.bias"], (HIDDEN,),
                         sd[p + "mlp.layernorm.weight"], sd[p + "mlp.layernorm.bias"], EPS)
    t = F.gelu(x @ sd["cls.predictions.transform.dense.weight"].T + sd["cls.predictions.transform.dense.bias"])
    t = F.layer_norm(t, (HIDDEN,), sd["cls.predictions.transform.LayerNorm.weight"],
                     sd["cls.predictions.transform.LayerNorm.bias"], EPS)
    return x, t @ sd["bert.embeddings.word_embeddings.weight"].T + sd["cls.predictions.decoder.bias"]


@pytest.fixture(scope="module")
def news_inputs(tokenizer, news_sentences):
    inputs = tokenizer(news_sentences[20:24], news_sentences[24:28], padding=True, truncation=True, max_length=128,
                       return_tensors="pt")
    assert not inputs["attention_mask"].all() and inputs["token_type_ids"].any()
    return inputs


@pytest.mark.parametrize("weights_file", ["pytorch_model.bin", "model.safetensors", "composer"])
def test_original_checkpoint_computes_the_original_equations(weights_file, tmp_path, news_inputs, caplog):
    sd = original_state_dict()
    path = write_original_dir(tmp_path / "mosaic-bert-tiny", sd, weights_file)
    with caplog.at_level(logging.INFO):
        model = build_composer_model("mosaic_bert", "mlm", init_from=str(path)).model.eval()
    assert "(checkpoint format original_mosaic_bert)" in caplog.text
    config = model.config
    assert (config.vocab_size, config.padded_vocab_size, config.position_embedding_type, config.ffn_type,
            config.glu_input_bias, config.attention_probs_dropout_prob) == (VOCAB, VOCAB, "alibi", "glu", False, 0.0)
    real = news_inputs["attention_mask"].bool()
    with torch.no_grad():
        hidden = model.bert(**news_inputs).last_hidden_state
        logits = model(**news_inputs).logits
        ref_hidden, ref_logits = reference_forward(sd, **news_inputs)
    torch.testing.assert_close(hidden[real], ref_hidden[real], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(logits[real], ref_logits[real], rtol=1e-4, atol=1e-4)


def test_original_checkpoint_missing_a_name_is_one_line_naming_it(tmp_path):
    sd = original_state_dict()
    del sd["bert.encoder.layer.1.mlp.gated_layers.weight"]
    path = write_original_dir(tmp_path / "broken", sd, "pytorch_model.bin")
    missing = r"without bert\.encoder\.layer\.1\.mlp\.gated_layers\.weight$"
    with pytest.raises(WeightsMismatchError, match=missing) as err:
        build_composer_model("mosaic_bert", "mlm", init_from=str(path))
    assert "\n" not in str(err.value)


def test_original_checkpoint_exports_as_our_hf_dir_and_fine_tunes(tmp_path, news_inputs):
    path = write_original_dir(tmp_path / "original", original_state_dict(), "pytorch_model.bin")
    imported = build_composer_model("mosaic_bert", "mlm", init_from=str(path))
    exported = export_to_hf(imported, tmp_path / "ours")
    assert json.loads((exported / "config.json").read_text())["model_type"] == "mosaic_bert"
    reloaded = build_composer_model("mosaic_bert", "mlm", init_from=str(exported)).model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**news_inputs).logits, imported.model.eval()(**news_inputs).logits)
    # fine-tuning (glue.py, sequence_classification.py) from the original directory: encoder kept, no attention dropout
    classifier = build_composer_model("mosaic_bert", "classification", init_from=str(path), num_labels=2,
                                      expected_new_weights=("classifier", "bert.pooler")).model
    assert classifier.config.attention_probs_dropout_prob == 0.0
    torch.testing.assert_close(classifier.bert.encoder.state_dict(), imported.model.bert.encoder.state_dict())


def legacy_mlm():
    """A model as earlier versions of this recipe built it: GeGLU in-projection with a bias."""
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "mlm", model_config=dict(
        hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
        glu_input_bias=True))
    with torch.no_grad():
        for layer in model.model.bert.encoder.layer:
            layer.mlp.wi.bias.normal_()
    return model


def without_glu_input_bias_key(config: dict) -> dict:
    """Earlier versions wrote no ``glu_input_bias`` key (the bias was always there)."""
    assert config.pop("glu_input_bias") is True
    return config


def test_hf_export_of_an_earlier_version_keeps_its_geglu_bias(tmp_path, news_inputs, caplog):
    legacy = legacy_mlm()
    exported = export_to_hf(legacy, tmp_path / "legacy")
    config_file = exported / "config.json"
    config_file.write_text(json.dumps(without_glu_input_bias_key(json.loads(config_file.read_text()))))
    with caplog.at_level(logging.WARNING):
        model = build_composer_model("mosaic_bert", "mlm", init_from=str(exported)).model.eval()
    assert len([r for r in caplog.records if "glu_input_bias=True" in r.getMessage()]) == 1
    assert model.config.glu_input_bias is True
    with torch.no_grad():
        torch.testing.assert_close(model(**news_inputs).logits, legacy.model.eval()(**news_inputs).logits)
    classifier = build_composer_model("mosaic_bert", "classification", init_from=str(exported), num_labels=1,
                                      expected_new_weights=("classifier", "bert.pooler")).model
    torch.testing.assert_close(classifier.bert.encoder.layer[1].mlp.wi.bias,
                               legacy.model.bert.encoder.layer[1].mlp.wi.bias)


def test_composer_checkpoint_of_an_earlier_version_keeps_its_geglu_bias(tmp_path):
    legacy = legacy_mlm()
    trainer = Trainer(model=legacy, device="cpu", progress_bar=False, log_to_console=False)
    path = tmp_path / "legacy.pt"
    trainer.save_checkpoint(str(path))
    trainer.close()
    checkpoint = torch.load(path, weights_only=False)
    without_glu_input_bias_key(checkpoint["state"]["integrations"]["huggingface"]["model"]["config"]["content"])
    torch.save(checkpoint, path)
    model = build_composer_model("mosaic_bert", "mlm", init_from=str(path)).model
    assert model.config.glu_input_bias is True
    torch.testing.assert_close(model.state_dict(), legacy.model.state_dict())
    # a new model config that says there is no bias: the bias is reported, never dropped silently
    with pytest.raises(WeightsMismatchError, match=r"unexpected: bert\.encoder\.layer\.\*\.mlp\.wi\.bias \(x2\)"):
        build_composer_model("mosaic_bert", "mlm", init_from=str(path), model_config={"glu_input_bias": False})
