"""The network is the published MosaicBERT: GeGLU (no input bias, dropout before wo), parameter count, attention
dropout defaults, fp32 regression loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mosaicbert.architecture import (
    FFN_REGISTRY,
    MosaicBertConfig,
    MosaicBertForMaskedLM,
    MosaicBertForSequenceClassification,
)
from mosaicbert.architecture.dropout import HashDropout
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.models.weights import SourceWeights

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)


def parameter_count(config: MosaicBertConfig) -> int:
    with torch.device("meta"):  # no memory, no initialisation cost
        model = MosaicBertForMaskedLM(config)
    return sum(p.numel() for p in model.parameters())  # the tied decoder weight counts once


def test_mosaic_bert_base_has_the_published_parameter_count():
    assert parameter_count(MosaicBertConfig()) == 137_400_384  # 137.4M, measured on the original code
    # earlier versions of this recipe had a GeGLU in-projection bias: 2 * 3072 more parameters per layer
    assert parameter_count(MosaicBertConfig(glu_input_bias=True)) - 137_400_384 == 12 * 6144


def test_geglu_dropout_acts_on_the_gated_activation_before_wo():
    config = MosaicBertConfig(**TINY, hidden_dropout_prob=0.5)
    glu = FFN_REGISTRY["glu"](config).train()
    assert glu.wi.bias is None
    x = torch.randn(24, 64)
    torch.manual_seed(5)
    out = glu(x)
    torch.manual_seed(5)  # the reference draws the same dropout mask for a tensor of the same shape
    h = x @ glu.wi.weight.T
    gated = F.gelu(h[:, :128]) * h[:, 128:]
    dropped = HashDropout(0.5).train()(gated)
    assert 0.3 < (dropped == 0).float().mean() < 0.7
    expected = F.layer_norm(x + dropped @ glu.wo.weight.T + glu.wo.bias, (64,), glu.LayerNorm.weight,
                            glu.LayerNorm.bias, config.layer_norm_eps)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_attention_dropout_is_off_by_default_and_when_fine_tuning():
    assert MosaicBertConfig().attention_probs_dropout_prob == 0.0
    family = MODEL_REGISTRY["mosaic_bert"]
    # a checkpoint whose config has attention dropout (BERT's 0.1 default in earlier versions)
    source = SourceWeights({}, {"model_type": "mosaic_bert", "attention_probs_dropout_prob": 0.1}, "ckpt")
    assert family.config("mlm", {}, source, None).attention_probs_dropout_prob == 0.1  # pretraining keeps it
    assert family.config("classification", {}, source, 2).attention_probs_dropout_prob == 0.0
    bert = SourceWeights({}, {"model_type": "bert", "attention_probs_dropout_prob": 0.1}, "bert")
    assert family.config("classification", {}, bert, 2).attention_probs_dropout_prob == 0.0
    assert family.config("classification", {}, None, 2).attention_probs_dropout_prob == 0.0
    explicit = family.config("classification", {"attention_probs_dropout_prob": 0.2}, source, 2)
    assert explicit.attention_probs_dropout_prob == 0.2  # the user's model_config still wins


def test_regression_loss_is_fp32_under_bf16_autocast(tokenizer, news_sentences):
    torch.manual_seed(0)
    model = MosaicBertForSequenceClassification(MosaicBertConfig(**TINY, num_labels=1)).eval()
    inputs = tokenizer(news_sentences[:4], padding=True, truncation=True, max_length=32, return_tensors="pt")
    labels = torch.tensor([3.8, 1.2, 4.6, 0.4])  # STS-B scores; bf16 holds 3.8 as 3.796875
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(**inputs, labels=labels)
    assert out.logits.dtype == torch.bfloat16 and out.loss.dtype == torch.float32
    expected = ((out.logits.float().squeeze(-1) - labels) ** 2).mean()
    torch.testing.assert_close(out.loss, expected, rtol=1e-6, atol=0)
