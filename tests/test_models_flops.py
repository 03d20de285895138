"""The analytic FLOP count (MFU logging, benchmarks) equals what PyTorch's FLOP counter sees MosaicBERT execute."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from mosaicbert.data.masking import MLMMasker
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.flops import encoder_training_flops, mlm_training_flops
from mosaicbert.models.registry import MODEL_REGISTRY

# The reference attention backend computes scores and values with plain matmuls (counted 2 forward, 4 backward),
# the same 3x convention as the formula; SDPA kernels are counted differently by PyTorch's counter.
TINY = {"hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 96,
        "attention_backend": "reference"}


@pytest.fixture(scope="module")
def masked_batch(tokenizer, news_sentences):
    batch = tokenizer(news_sentences[:6], padding=True, truncation=True, max_length=48, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any(), "the batch must contain padding"
    return MLMMasker(tokenizer, rate=0.3, seed=1)(dict(batch))


def _shape(model):
    return MODEL_REGISTRY["mosaic_bert"].flop_shape(model.model.config)


def _counted_flops(model, batch) -> int:
    with FlopCounterMode(display=False) as counter:
        model.loss(model(batch), batch).backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("ffn_type", ["mlp", "glu"])
def test_mlm_training_flops_match_the_counted_matmuls(masked_batch, ffn_type):
    model = build_composer_model("mosaic_bert", "mlm", model_config={**TINY, "ffn_type": ffn_type})
    expected = mlm_training_flops(_shape(model), None, masked_batch)
    assert _counted_flops(model, masked_batch) == pytest.approx(expected, rel=1e-9)


def test_classification_flops_match_the_counted_matmuls(masked_batch):
    model = build_composer_model("mosaic_bert", "classification", model_config=TINY, num_labels=3)
    batch = {k: v for k, v in masked_batch.items() if k != "labels"}
    batch["labels"] = torch.tensor([0, 1, 2, 0, 1, 2])
    lengths = batch["attention_mask"].sum(dim=1)
    expected = encoder_training_flops(_shape(model), lengths, classified_sequences=len(lengths))
    assert _counted_flops(model, batch) == pytest.approx(expected, rel=1e-9)


def test_packed_rows_count_attention_per_document(masked_batch):
    """Two sentences packed into each row (document ids 1 and 2): attention is quadratic per document."""
    model = build_composer_model("mosaic_bert", "mlm", model_config=TINY)
    mask = masked_batch["attention_mask"]
    halves = torch.arange(mask.shape[1]) >= (mask.sum(dim=1, keepdim=True) // 2)
    batch = {**masked_batch, "document_ids": (1 + halves.long()) * mask}
    expected = mlm_training_flops(_shape(model), None, batch)
    assert expected < mlm_training_flops(_shape(model), None, masked_batch)
    assert _counted_flops(model, batch) == pytest.approx(expected, rel=1e-9)


def test_study_flop_counter_counts_packed_documents_for_mosaic_bert_only(masked_batch):
    """The quality study's FlopCounter: MosaicBERT per document of a packed row, hf_bert every slot of the row."""
    from types import SimpleNamespace

    from mosaicbert.study.budget import FlopCounter

    shape = {k: v for k, v in TINY.items() if k != "attention_backend"}
    configs = {name: build_composer_model(name, "mlm", model_config=shape).model.config
               for name in ("mosaic_bert", "hf_bert")}
    mask = masked_batch["attention_mask"]
    halves = torch.arange(mask.shape[1]) >= (mask.sum(dim=1, keepdim=True) // 2)
    state = SimpleNamespace(batch={**masked_batch, "document_ids": (1 + halves.long()) * mask})
    counted = {}
    for name, config in configs.items():  # the family (by the config's model_type) says how it runs
        counter = FlopCounter(config, SimpleNamespace(rate=0.3))
        counter.batch_end(state, None)
        counted[name] = counter.total
    real = float(mask.sum())
    shapes = {name: MODEL_REGISTRY[name].flop_shape(config) for name, config in configs.items()}
    per_document = torch.tensor([n for row in mask.sum(dim=1).tolist() for n in (row // 2, row - row // 2)])
    assert counted["mosaic_bert"] == pytest.approx(encoder_training_flops(shapes["mosaic_bert"], per_document, mlm_tokens=0.3 * real))
    full_rows = torch.full((mask.shape[0],), mask.shape[1])
    assert counted["hf_bert"] == pytest.approx(encoder_training_flops(shapes["hf_bert"], full_rows, mlm_tokens=mask.numel()))
