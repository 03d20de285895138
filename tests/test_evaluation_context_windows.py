"""Context windows over real long documents (State of the Union addresses, bert-base-uncased): every evaluation
length scores exactly the same masked tokens, only the context changes; a real model scores them all."""

from __future__ import annotations

import pytest
import torch

from mosaicbert.data.masking import IGNORE_INDEX
from mosaicbert.data.state_of_the_union import addresses_splits
from mosaicbert.evaluation.context_windows import ContextWindows, long_documents, mask_documents

CONTENT = 254  # tokens per document: windows of 128 (126 + 2 specials) leave a 2-token tail
LENGTHS = (16, 64, 128, 256)


@pytest.fixture(scope="module")
def masked(tokenizer):
    documents = long_documents(tokenizer, addresses_splits()["val"][:6], CONTENT)
    return documents, *mask_documents(tokenizer, documents, rate=0.15, seed=17)


def inner(sample, tokenizer) -> tuple[list[int], list[int]]:
    """A window's text ids and labels between [CLS] and [SEP], checking the frame and the padding."""
    real = int(sample["attention_mask"].sum())
    ids, labels = sample["input_ids"].tolist(), sample["labels"].tolist()
    assert ids[0] == tokenizer.cls_token_id and ids[real - 1] == tokenizer.sep_token_id
    assert set(ids[real:]) <= {tokenizer.pad_token_id} and set(labels[real - 1:]) <= {IGNORE_INDEX}
    assert labels[0] == IGNORE_INDEX
    return ids[1:real - 1], labels[1:real - 1]


def test_every_length_holds_the_same_masked_tokens(masked, tokenizer):
    documents, ids, labels = masked
    assert documents.shape == (6, CONTENT) and (labels != IGNORE_INDEX).float().mean().item() == pytest.approx(0.15, abs=0.03)
    assert torch.equal(labels[labels != IGNORE_INDEX], documents[labels != IGNORE_INDEX])  # labels: the true ids
    for length in LENGTHS:
        windows = ContextWindows(tokenizer, ids, labels, length)
        text, targets = [], []
        for i in range(len(windows)):
            sample = windows[i]
            assert all(v.shape == (length,) for v in sample.values())
            window_ids, window_labels = inner(sample, tokenizer)
            text += window_ids
            targets += window_labels
        assert text == ids.flatten().tolist() and targets == labels.flatten().tolist()
        assert windows.real_tokens() == sum(int(windows[i]["attention_mask"].sum()) for i in range(len(windows)))
    assert [len(ContextWindows(tokenizer, ids, labels, n)) for n in LENGTHS] == [6 * 19, 6 * 5, 6 * 3, 6]


def test_documents_shorter_than_the_window_are_left_out(tokenizer):
    texts = addresses_splits()["val"][:3] + ["A short address to Congress."]
    assert len(long_documents(tokenizer, texts, CONTENT)) == 3
    with pytest.raises(ValueError, match="no document has 1000000 tokens"):
        long_documents(tokenizer, texts, 1_000_000)


def test_a_model_scores_the_same_masked_tokens_at_every_length(masked, tokenizer):
    from mosaicbert.evaluation.heldout_mlm import heldout_mlm
    from mosaicbert.models.build import build_composer_model

    _, ids, labels = masked
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "mlm", tokenizer_name="bert-base-uncased", model_config={
        "num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64})
    scores = {n: heldout_mlm(model, tokenizer, ContextWindows(tokenizer, ids, labels, n), batch_size=4, rate=0.15,
                             seed=17, device="cpu", precision="fp32", premasked=True) for n in (16, 256)}
    assert {s["masked_tokens"] for s in scores.values()} == {int((labels != IGNORE_INDEX).sum())}
    assert all(0 < s["cross_entropy"] < 20 for s in scores.values())
    assert scores[16]["cross_entropy"] != scores[256]["cross_entropy"]  # the context differs, so do the scores
