"""MosaicBERT models: exact BERT equivalence on real weights, heads, vocab padding, bf16 autocast, HF integration."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import BertConfig, BertForMaskedLM, BertModel, pipeline

from mosaicbert.architecture import (
    MosaicBertConfig,
    MosaicBertForMaskedLM,
    MosaicBertForSequenceClassification,
    MosaicBertModel,
    convert_bert_state_dict,
)
from mosaicbert.architecture.layer_norm import LowPrecisionLayerNorm

BERT_SHAPE_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                   "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act", "pad_token_id")


def bert_equivalent_config(bert_config: BertConfig, **overrides) -> MosaicBertConfig:
    shape = {key: getattr(bert_config, key) for key in BERT_SHAPE_KEYS}
    return MosaicBertConfig(**shape, **{"position_embedding_type": "absolute", "ffn_type": "mlp",
                                        "attention_backend": "sdpa", **overrides})


def tiny_config(**overrides) -> MosaicBertConfig:
    settings = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                    max_position_embeddings=128)
    return MosaicBertConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def news_batch(tokenizer, news_sentences):
    batch = tokenizer(news_sentences[10:18], padding=True, truncation=True, max_length=48, return_tensors="pt")
    assert len(set(batch["attention_mask"].sum(1).tolist())) > 4, "test needs sequences of different lengths"
    return batch


@pytest.fixture(scope="module")
def masked_batch(news_batch, tokenizer):
    """News batch with ~15% of its real (non-special) tokens replaced by [MASK], labels -100 elsewhere."""
    generator = torch.Generator().manual_seed(0)
    input_ids = news_batch["input_ids"].clone()
    special = torch.isin(input_ids, torch.tensor(tokenizer.all_special_ids))
    chosen = (torch.rand(input_ids.shape, generator=generator) < 0.15) & ~special
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    input_ids[chosen] = tokenizer.mask_token_id
    return {**news_batch, "input_ids": input_ids}, labels


def test_minilm_weights_give_bert_hidden_states_and_gradients(minilm_dir, news_batch):
    torch.manual_seed(0)
    bert = BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    ours = MosaicBertModel(bert_equivalent_config(bert.config)).eval()
    result = ours.load_state_dict(convert_bert_state_dict(load_file(minilm_dir / "model.safetensors"), ours.config))
    assert not result.missing_keys and not result.unexpected_keys

    mask = news_batch["attention_mask"].bool()
    weights = torch.randn(*mask.shape, bert.config.hidden_size)
    expected, actual = bert(**news_batch), ours(**news_batch)
    assert (actual.last_hidden_state[mask] - expected.last_hidden_state[mask]).abs().max() <= 1e-5
    assert (actual.pooler_output - expected.pooler_output).abs().max() <= 1e-5

    (expected.last_hidden_state[mask] * weights[mask]).sum().backward()
    (actual.last_hidden_state[mask] * weights[mask]).sum().backward()
    layer, our_layer = bert.encoder.layer[0], ours.encoder.layer[0]
    attention = layer.attention.self
    pairs = {
        "word_embeddings": (bert.embeddings.word_embeddings.weight.grad,
                            ours.embeddings.word_embeddings.weight.grad[: bert.config.vocab_size]),
        "position_embeddings": (bert.embeddings.position_embeddings.weight.grad,
                                ours.embeddings.position_embeddings.weight.grad),
        "qkv": (torch.cat([attention.query.weight.grad, attention.key.weight.grad, attention.value.weight.grad]),
                our_layer.attention.Wqkv.weight.grad),
        "ffn_in": (layer.intermediate.dense.weight.grad, our_layer.mlp.wi.weight.grad),
        "last_layer_norm": (bert.encoder.layer[-1].output.LayerNorm.weight.grad,
                            ours.encoder.layer[-1].mlp.LayerNorm.weight.grad),
    }
    for name, (reference, ours_grad) in pairs.items():
        assert reference.abs().max() > 0, name
        assert (ours_grad - reference).abs().max() <= 1e-5 * reference.abs().max(), name


def test_mlm_head_and_conversion_match_bert_for_masked_lm(masked_batch):
    batch, labels = masked_batch
    torch.manual_seed(0)
    bert = BertForMaskedLM(BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=128, max_position_embeddings=128)).eval()
    ours = MosaicBertForMaskedLM(bert_equivalent_config(bert.config)).eval()
    result = ours.load_state_dict(convert_bert_state_dict(bert.state_dict(), ours.config), strict=False)
    assert not result.unexpected_keys and set(result.missing_keys) <= {"mlm_head.decoder.weight"}  # tied
    ours.tie_weights()
    expected, actual = bert(**batch, labels=labels), ours(**batch, labels=labels)
    masked = labels != -100
    torch.testing.assert_close(actual.logits, expected.logits[masked], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(actual.loss, expected.loss, atol=1e-5, rtol=1e-5)


def test_alibi_conversion_drops_positions_and_glu_refuses_mlp_weights(minilm_dir):
    state = load_file(minilm_dir / "model.safetensors")
    bert_config = BertConfig.from_pretrained(minilm_dir)
    alibi = convert_bert_state_dict(state, bert_equivalent_config(bert_config, position_embedding_type="alibi"))
    assert not any("position" in key for key in alibi)
    model = MosaicBertModel(bert_equivalent_config(bert_config, position_embedding_type="alibi"))
    result = model.load_state_dict(alibi)
    assert not result.missing_keys and not result.unexpected_keys
    with pytest.raises(ValueError, match="ffn_type"):
        convert_bert_state_dict(state, bert_equivalent_config(bert_config, ffn_type="glu"))
    legacy = {key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): value
              for key, value in state.items()}
    assert convert_bert_state_dict(legacy, model.config).keys() == alibi.keys()


def test_vocab_is_padded_but_never_predicted(masked_batch, tokenizer):
    batch, labels = masked_batch
    model = MosaicBertForMaskedLM(tiny_config()).eval()
    assert tokenizer.vocab_size == model.config.vocab_size == 30522
    assert model.bert.embeddings.word_embeddings.num_embeddings == 30528 == model.mlm_head.decoder.out_features
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    with torch.no_grad():
        full = model(**batch).logits
        at_masks = model(**batch, labels=labels)
    assert full.shape == (*batch["input_ids"].shape, 30522)
    masked = labels != -100
    assert at_masks.logits.shape == (int(masked.sum()), 30522)
    torch.testing.assert_close(at_masks.logits, full[masked], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(at_masks.loss, F.cross_entropy(full[masked], labels[masked]))
    assert MosaicBertConfig(vocab_size=100).padded_vocab_size == 128


def test_no_masked_tokens_gives_zero_loss(news_batch):
    model = MosaicBertForMaskedLM(tiny_config())
    output = model(**news_batch, labels=torch.full_like(news_batch["input_ids"], -100))
    assert output.logits.shape == (0, 30522) and output.loss.item() == 0.0
    output.loss.backward()


def test_sequence_classification_losses_follow_problem_type(news_batch):
    torch.manual_seed(0)
    classifier = MosaicBertForSequenceClassification(tiny_config(num_labels=3)).eval()
    classes = torch.tensor([0, 1, 2, 1, 0, 2, 2, 1])
    output = classifier(**news_batch, labels=classes)
    assert output.logits.shape == (8, 3)
    torch.testing.assert_close(output.loss, F.cross_entropy(output.logits, classes))

    regressor = MosaicBertForSequenceClassification(tiny_config(num_labels=1)).eval()
    scores = torch.linspace(0, 5, 8)
    output = regressor(**news_batch, labels=scores)
    torch.testing.assert_close(output.loss, F.mse_loss(output.logits.squeeze(-1), scores))
    output.loss.backward()


@pytest.mark.parametrize("low_precision_layernorm", [True, False])
def test_bf16_autocast_trains_and_layernorm_precision(masked_batch, low_precision_layernorm):
    batch, labels = masked_batch
    torch.manual_seed(0)
    model = MosaicBertForMaskedLM(tiny_config(low_precision_layernorm=low_precision_layernorm))
    norm_dtypes = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            assert isinstance(module, LowPrecisionLayerNorm) == low_precision_layernorm
            module.register_forward_hook(lambda _module, _inputs, output, name=name: norm_dtypes.update({name: output.dtype}))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = model(**batch, labels=labels)
    output.loss.backward()
    assert torch.isfinite(output.loss) and output.logits.dtype == torch.bfloat16
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.bert.encoder.layer[0].attention.Wqkv.weight.grad.abs().sum() > 0
    if low_precision_layernorm:
        assert set(norm_dtypes.values()) == {torch.bfloat16}
    else:  # CPU autocast leaves LayerNorm in its input dtype: fp32 for the fp32 embedding sum
        assert norm_dtypes["bert.embeddings.LayerNorm"] == torch.float32


def test_gradient_checkpointing_gives_the_same_gradients(news_batch):
    gradients = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = MosaicBertModel(tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
        if checkpointing:
            model.gradient_checkpointing_enable()
            assert model.encoder.gradient_checkpointing
        model(**news_batch).last_hidden_state.square().sum().backward()
        gradients.append(model.encoder.layer[0].attention.Wqkv.weight.grad)
    torch.testing.assert_close(gradients[0], gradients[1])


def test_save_and_reload_keeps_tied_weights_and_outputs(masked_batch, tmp_path):
    batch, labels = masked_batch
    model = MosaicBertForMaskedLM(tiny_config()).eval()
    model.save_pretrained(tmp_path)
    reloaded = MosaicBertForMaskedLM.from_pretrained(tmp_path).eval()
    assert reloaded.get_output_embeddings().weight is reloaded.get_input_embeddings().weight
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch, labels=labels).logits, model(**batch, labels=labels).logits)


def test_fill_mask_pipeline_runs_on_real_text(tokenizer, news_sentences):
    model = MosaicBertForMaskedLM(tiny_config()).eval()
    fill = pipeline("fill-mask", model=model, tokenizer=tokenizer, device="cpu")
    words = news_sentences[0].split()
    text = " ".join(words[:3] + [tokenizer.mask_token] + words[4:12])
    predictions = fill(text, top_k=3)
    assert len(predictions) == 3 and all(p["token"] < tokenizer.vocab_size for p in predictions)
