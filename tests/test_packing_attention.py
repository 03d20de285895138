"""Packed rows with document boundaries: each document of a row is encoded exactly as if it were alone, for every
attention backend of MosaicBERT (ALiBi and absolute positions) and for transformers' BERT (block-diagonal mask)."""

from __future__ import annotations

import pytest
import torch
from test_architecture_attention import CPU_BACKENDS, KERNEL_CALLS, reference_flash_kernel, tiny_model  # noqa: F401

from mosaicbert.architecture.padding import DOCUMENT_IDS, padding_info, sequence_lengths
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.document_mask import block_diagonal_inputs

TINY_BERT = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=6, intermediate_size=96,
                 hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=64)


@pytest.fixture(scope="module")
def documents(tokenizer, news_articles) -> list[torch.Tensor]:
    """Three real news documents of different lengths, each with its own [CLS] ... [SEP]."""
    lengths = (23, 14, 9)
    return [torch.tensor(tokenizer(text, truncation=True, max_length=n)["input_ids"])
            for text, n in zip(news_articles[:3], lengths)]


@pytest.fixture(scope="module")
def packed(documents) -> dict[str, torch.Tensor]:
    """Row 0 packs documents 0 and 1 (then padding), row 1 holds document 2 alone (then padding)."""
    seq_len = 40
    batch = {key: torch.zeros(2, seq_len, dtype=torch.long)
             for key in ("input_ids", "attention_mask", "token_type_ids", DOCUMENT_IDS)}
    for row, docs in enumerate(([0, 1], [2])):
        at = 0
        for number, index in enumerate(docs, start=1):
            ids = documents[index]
            batch["input_ids"][row, at:at + len(ids)] = ids
            batch["attention_mask"][row, at:at + len(ids)] = 1
            batch[DOCUMENT_IDS][row, at:at + len(ids)] = number
            at += len(ids)
    return batch


def slices(documents):
    """(row, start, end) of each document in ``packed``."""
    a, b, c = (len(d) for d in documents)
    return [(0, 0, a), (0, a, a + b), (1, 0, c)]


def alone(document: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"input_ids": document[None], "attention_mask": torch.ones_like(document)[None],
            "token_type_ids": torch.zeros_like(document)[None]}


def test_padding_info_gives_one_sequence_per_document(packed, documents):
    info = padding_info(packed["attention_mask"], packed[DOCUMENT_IDS])
    lengths = [len(d) for d in documents]
    assert info.cu_seqlens.diff().tolist() == lengths and info.max_seqlen >= max(lengths)  # an upper bound: no sync
    assert info.first_tokens().tolist() == [0, lengths[0] + lengths[1]]
    assert info.positions().tolist() == [p for n in lengths for p in range(n)]
    assert sequence_lengths(packed["attention_mask"], packed[DOCUMENT_IDS]).tolist() == lengths
    assert sequence_lengths(packed["attention_mask"]).tolist() == [lengths[0] + lengths[1], lengths[2]]


@pytest.mark.parametrize("position_embedding_type", ["alibi", "absolute"])
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_mosaic_bert_encodes_each_packed_document_as_if_alone(packed, documents, backend, position_embedding_type):
    model = tiny_model(backend, position_embedding_type)
    tolerance = 1e-2 if backend == "flash_attn" else 1e-5  # the flash adapter runs the kernel in bf16
    with torch.no_grad():
        packed_hidden = model(**packed).last_hidden_state
        one_sequence = model(**{k: v for k, v in packed.items() if k != DOCUMENT_IDS}).last_hidden_state
        for document, (row, start, end) in zip(documents, slices(documents)):
            expected = model(**alone(document)).last_hidden_state[0]
            torch.testing.assert_close(packed_hidden[row, start:end], expected, atol=tolerance, rtol=tolerance)
    row, start, end = slices(documents)[1]  # without boundaries the second document attends to the first
    assert (one_sequence[row, start:end] - packed_hidden[row, start:end]).abs().max() > 1e-2
    if backend == "flash_attn":
        assert KERNEL_CALLS


@pytest.mark.parametrize("name", ["mosaic_bert", "hf_bert"])
def test_composer_models_keep_documents_apart_and_the_old_behaviour_stays_selectable(packed, documents, name):
    torch.manual_seed(0)
    extra = {"attention_backend": "sdpa"} if name == "mosaic_bert" else {}
    model = build_composer_model(name, "mlm", model_config={**TINY_BERT, **extra}).eval()
    with torch.no_grad():
        packed_logits = model(packed).logits
        one_sequence = model({k: v for k, v in packed.items() if k != DOCUMENT_IDS}).logits
        for document, (row, start, end) in zip(documents, slices(documents)):
            expected = model(alone(document)).logits[0]
            torch.testing.assert_close(packed_logits[row, start:end], expected, atol=1e-5, rtol=1e-5)
    row, start, end = slices(documents)[1]
    assert (one_sequence[row, start:end] - packed_logits[row, start:end]).abs().max() > 1e-3
    assert packed["attention_mask"].dim() == 2  # the batch itself is untouched (metrics read it)


def test_block_diagonal_inputs(packed, documents):
    inputs = block_diagonal_inputs(packed)
    a, b, _ = (len(d) for d in documents)
    mask = inputs["attention_mask"][0]
    assert DOCUMENT_IDS not in inputs and mask.shape == (40, 40)
    assert mask[:a, :a].all() and not mask[:a, a:].any() and mask[a:a + b, a:a + b].all()
    assert not mask[:, a + b:].any()  # nobody attends to padding
    assert inputs["position_ids"][0, a:a + b].tolist() == list(range(b))
