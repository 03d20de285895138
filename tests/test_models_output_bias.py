"""A new MLM head's bias set to the training split's word frequencies (``model.mlm_bias_init: unigram``)."""

from __future__ import annotations

import math

import pytest
import torch

from mosaicbert.data.unigram import unigram_log_probs
from mosaicbert.evaluation.heldout_mlm import heldout_samples, masked_batches, unigram_baseline
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.output_bias import set_mlm_bias_to_frequencies
from mosaicbert.models.registry import MODEL_REGISTRY

SHAPE = {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}


@pytest.fixture(scope="module")
def news_log_probs(tokenizer, news_mds) -> torch.Tensor:
    return unigram_log_probs(tokenizer, news_mds / "text", 64)


def test_frequencies_count_the_words_of_real_news(tokenizer, news_log_probs):
    assert news_log_probs.shape == (len(tokenizer),)
    assert math.isclose(float(news_log_probs.exp().sum()), 1.0, rel_tol=1e-9)
    special = torch.tensor(tokenizer.all_special_ids)
    assert torch.isinf(news_log_probs[special]).all()  # never a label
    top = tokenizer.convert_ids_to_tokens(news_log_probs.topk(5).indices.tolist())
    assert {"the", ".", ","} <= set(top), top
    said, unseen = tokenizer.convert_tokens_to_ids(["said", "[unused5]"])
    assert news_log_probs[said] > news_log_probs[unseen] + 5  # unseen words keep only the smoothing count


@pytest.mark.parametrize("name,config", [("mosaic_bert", {}), ("hf_bert", {"max_position_embeddings": 64})])
def test_fresh_head_predicts_the_frequencies(name, config, tokenizer, news_mds, news_log_probs):
    """With the bias set, a freshly initialised network scores the held-out news as the unigram baseline does
    (its small random logits add little); with BERT's zero bias it scores as a uniform guess."""
    torch.manual_seed(0)
    model = build_composer_model(name, "mlm", model_config={**SHAPE, **config})
    network = model.model
    set_mlm_bias_to_frequencies(network, news_log_probs)
    bias = network.get_output_embeddings().bias
    vocab = len(tokenizer)
    assert torch.allclose(bias[:vocab][torch.isfinite(news_log_probs)].double(),
                          news_log_probs[torch.isfinite(news_log_probs)], atol=1e-5)
    rarest = float(news_log_probs[torch.isfinite(news_log_probs)].min())
    assert torch.allclose(bias[torch.tensor(tokenizer.all_special_ids)].double(), torch.tensor(rarest).double())
    assert torch.allclose(bias[vocab:].double(), torch.tensor(rarest).double())  # MosaicBERT's padded rows

    batches = list(masked_batches(heldout_samples(tokenizer, news_mds / "text", 64, 64 * 16), tokenizer, 16, 0.15,
                                  seed=3))
    baseline = unigram_baseline(news_log_probs, batches)["cross_entropy"]
    network.eval()
    with torch.no_grad():
        losses = [model.loss(model(b), b) for b in batches]
    assert abs(float(torch.stack(losses).mean()) - baseline) < 0.15, (float(torch.stack(losses).mean()), baseline)
    assert baseline < math.log(vocab) - 2


def test_more_frequencies_than_decoder_rows_is_an_error(tokenizer, news_log_probs):
    network = MODEL_REGISTRY["mosaic_bert"].build("mlm", {**SHAPE, "vocab_size": 1000})
    with pytest.raises(ValueError, match="30522 word frequencies for a decoder of 1024 rows"):
        set_mlm_bias_to_frequencies(network, news_log_probs)
