"""The token-classification, QA and bare-encoder networks of every family, on the real all-MiniLM-L6-v2 weights.

MosaicBERT imported with BERT's own settings (absolute positions, MLP feed-forward) runs its heads on unpadded tokens:
with the same head weights it must give transformers' BERT's logits at every real token, whatever the padding; its
export must load under the transformers auto classes (remote code) and give the same logits again.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel, AutoModelForQuestionAnswering, AutoModelForTokenClassification

from mosaicbert.models.build import build_composer_model, build_network
from mosaicbert.models.hf_io import export_to_hf
from mosaicbert.models.registry import MODEL_REGISTRY

EXACT_BERT = {"position_embedding_type": "absolute", "ffn_type": "mlp"}
SENTENCES = ["The European Central Bank raised interest rates in Frankfurt on Thursday.",
             "Shares of Apple fell."]  # of different lengths: the second row is padded
AUTO_CLASSES = {"token_classification": AutoModelForTokenClassification,
                "question_answering": AutoModelForQuestionAnswering}


def _batch(tokenizer) -> dict[str, torch.Tensor]:
    return dict(tokenizer(SENTENCES, padding=True, return_tensors="pt"))


def _logits(network, batch) -> torch.Tensor:
    """(batch, seq, outputs) logits of a token-classification or QA network."""
    with torch.no_grad():
        out = network(**batch)
    return out.logits if "logits" in out else torch.stack([out.start_logits, out.end_logits], dim=-1)


@pytest.fixture(scope="module")
def pairs(minilm_dir):
    """Per task: (MosaicBERT network, transformers BERT network) from MiniLM with identical fresh heads."""
    made = {}
    for task, labels in (("token_classification", 5), ("question_answering", None)):
        kwargs = dict(init_from=str(minilm_dir), num_labels=labels, expected_new_weights=("classifier", "qa_outputs"))
        mosaic, tokenizer = build_network("mosaic_bert", task, model_config=EXACT_BERT, **kwargs)
        bert, _ = build_network("hf_bert", task, **kwargs)
        head = "classifier" if task == "token_classification" else "qa_outputs"
        getattr(mosaic, head).load_state_dict(getattr(bert, head).state_dict())
        made[task] = (mosaic.eval(), bert.eval(), tokenizer)
    return made


@pytest.mark.parametrize("task", ["token_classification", "question_answering"])
def test_mosaic_bert_heads_match_bert_on_real_tokens(pairs, task):
    mosaic, bert, tokenizer = pairs[task]
    batch = _batch(tokenizer)
    real = batch["attention_mask"].bool()
    assert not real.all()  # padding is there, and must not change the real tokens' logits
    torch.testing.assert_close(_logits(mosaic, batch)[real], _logits(bert, batch)[real], atol=2e-5, rtol=1e-4)
    if task == "question_answering":  # no span starts or ends on padding
        assert torch.isinf(_logits(mosaic, batch)[~real]).all()


def test_token_classification_loss_counts_labelled_tokens_only(pairs):
    mosaic, bert, tokenizer = pairs["token_classification"]
    batch = _batch(tokenizer)
    labels = torch.full_like(batch["input_ids"], -100)
    labels[0, 1:4] = torch.tensor([1, 2, 0])
    labels[1, 1] = 3
    with torch.no_grad():
        ours, theirs = mosaic(**batch, labels=labels).loss, bert(**batch, labels=labels).loss
    torch.testing.assert_close(ours, theirs, atol=2e-5, rtol=1e-4)


def test_question_answering_loss_is_berts_and_padding_free(pairs):
    """Without padding the loss is BERT's (an end past the window is ignored by both); with padding, BERT's softmax
    also spreads over the padded slots, MosaicBERT's does not: a row's loss is the same alone or padded."""
    mosaic, bert, tokenizer = pairs["question_answering"]
    alone = dict(tokenizer(SENTENCES[1:] * 2, return_tensors="pt"))
    padded = _batch(tokenizer)
    starts, ends = torch.tensor([1, 2]), torch.tensor([3, 500])
    with torch.no_grad():
        ours = mosaic(**alone, start_positions=starts, end_positions=ends).loss
        theirs = bert(**alone, start_positions=starts, end_positions=ends).loss
        in_padded_batch = mosaic(**{k: torch.stack([v[1], v[1]]) for k, v in padded.items()},
                                 start_positions=starts, end_positions=ends).loss
    torch.testing.assert_close(ours, theirs, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(in_padded_batch, ours, atol=2e-5, rtol=1e-4)


def test_encoder_task_is_the_base_model_with_the_source_weights(minilm_dir):
    mosaic, tokenizer = build_network("mosaic_bert", "encoder", model_config=EXACT_BERT, init_from=str(minilm_dir),
                                      expected_new_weights=MODEL_REGISTRY["mosaic_bert"].new_heads["encoder"])
    bert = AutoModel.from_pretrained(minilm_dir).eval()
    batch = _batch(tokenizer)
    real = batch["attention_mask"].bool()
    with torch.no_grad():
        ours = mosaic.eval()(**batch).last_hidden_state
        theirs = bert(**batch).last_hidden_state
    torch.testing.assert_close(ours[real], theirs[real], atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("task", ["token_classification", "question_answering"])
def test_mosaic_bert_task_export_loads_with_its_auto_class(pairs, task, tmp_path):
    mosaic, _, tokenizer = pairs[task]
    out = export_to_hf(mosaic, tmp_path / task, tokenizer)
    loaded = AUTO_CLASSES[task].from_pretrained(out, trust_remote_code=True).eval()
    assert type(loaded).__name__ == type(mosaic).__name__
    batch = _batch(tokenizer)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(_logits(loaded, batch)[real], _logits(mosaic, batch)[real])


@pytest.mark.parametrize("name", ["hf_bert", "modernbert"])
@pytest.mark.parametrize("task", ["token_classification", "question_answering"])
def test_every_family_builds_the_task_wrapper(name, task):
    tiny = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    labels = 3 if task == "token_classification" else None
    model = build_composer_model(name, task, model_config=tiny, num_labels=labels)
    batch = _batch(model.tokenizer)
    outputs = model.eval_forward(batch)
    assert outputs.shape[:2] == batch["input_ids"].shape
    assert (outputs.max() < 3) if task == "token_classification" else (outputs.shape[-1] == 2)
