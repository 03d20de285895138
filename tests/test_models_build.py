"""build_composer_model: the registry, clear errors for bad input, and bf16 autocast applied by the wrapper."""

from __future__ import annotations

import pytest
import torch
from composer.models import ComposerModel, HuggingFaceModel
from transformers import DataCollatorForLanguageModeling

from mosaicbert.architecture import MosaicBertForMaskedLM, MosaicBertForSequenceClassification
from mosaicbert.models.build import TASK_WRAPPERS, build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY

TINY = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


def test_registry_names_and_tasks():
    assert set(MODEL_REGISTRY) == {"mosaic_bert", "hf_bert", "modernbert"}
    assert set(TASK_WRAPPERS) == {"mlm", "classification", "token_classification", "question_answering"}
    mlm = build_composer_model("mosaic_bert", "mlm", model_config=TINY)
    classifier = build_composer_model("mosaic_bert", "classification", num_labels=2, model_config=TINY)
    assert isinstance(mlm, ComposerModel) and isinstance(mlm, HuggingFaceModel)
    assert isinstance(mlm.model, MosaicBertForMaskedLM)
    assert isinstance(classifier.model, MosaicBertForSequenceClassification)
    assert mlm.config.position_embedding_type == "alibi" and mlm.config.ffn_type == "glu"  # recipe defaults
    assert mlm.tokenizer is not None and len(mlm.tokenizer) == 30522  # saved in Composer checkpoints


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="roberta", task="mlm"),
     "config key 'model.name': unknown model 'roberta'; choose from: mosaic_bert, hf_bert, modernbert"),
    (dict(name="hf_bert", task="ner"), "unknown task 'ner'; valid tasks: mlm, classification"),
    (dict(name="hf_bert", task="mlm", num_labels=3),
     "num_labels=3 applies only to tasks classification and token_classification"),
    (dict(name="mosaic_bert", task="mlm", model_config={"num_layers": 2}),
     "unknown config key 'model.model_config.num_layers' for model 'mosaic_bert'"),
    (dict(name="hf_bert", task="classification", model_config={"hiden_size": 2}),
     "unknown config key 'model.model_config.hiden_size' for model 'hf_bert' "
     "(did you mean 'model.model_config.hidden_size'?)"),
    (dict(name="mosaic_bert", task="mlm", model_config={"ffn_type": "swiglu"}), "MosaicBertConfig.ffn_type='swiglu'"),
    (dict(name="hf_bert", task="mlm", autocast_dtype="int8"), "autocast_dtype='int8' is not one of"),
])
def test_bad_input_gives_one_clear_error(kwargs, message):
    with pytest.raises(ValueError) as caught:
        build_composer_model(**kwargs)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["mosaic_bert", "hf_bert"])
def test_bf16_autocast_runs_forward_and_loss_in_bf16(name, tokenizer, news_sentences):
    torch.manual_seed(0)
    plain = build_composer_model(name, "mlm", model_config=TINY)
    autocast = build_composer_model(name, "mlm", model_config=TINY, autocast_dtype="bf16")
    autocast.load_state_dict(plain.state_dict())
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    batch = collator([tokenizer(s, truncation=True, max_length=40) for s in news_sentences[:6]])

    outputs = autocast(batch)
    loss = autocast.loss(outputs, batch)
    loss.backward()
    assert outputs["logits"].dtype == torch.bfloat16
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    grads = [p.grad for p in autocast.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    plain_outputs = plain(batch)
    full_precision_loss = plain.loss(plain_outputs, batch)
    assert plain_outputs["logits"].dtype == torch.float32
    assert abs(loss.item() - full_precision_loss.item()) < 0.05 * full_precision_loss.item()

    autocast.eval()
    with torch.no_grad():
        masked_logits = autocast.eval_forward(batch)  # evaluation runs under autocast, metrics get fp32
    assert masked_logits.dtype == torch.float32
    assert masked_logits.shape == ((batch["labels"] != -100).sum(), 30522)
