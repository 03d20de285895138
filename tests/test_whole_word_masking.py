"""Whole-word masking (``masking.whole_word``) on real news: every piece of a word is masked with it, the rate counts
words, and the guarantees of per-token masking hold (a pure function of seed, step and sample: the same masks on
any number of ranks; packed documents stay apart) for WordPiece and byte-level BPE vocabularies."""

from __future__ import annotations

import pytest
import torch

from mosaicbert.data.loaders import build_text_dataset
from mosaicbert.data.masking import IGNORE_INDEX, MLMMasker
from mosaicbert.tokenization.training import learn_vocabulary, save_tokenizer
from mosaicbert.tokenization.word_starts import WordBoundaryError


def rows(news_mds, tokenizer, split="val") -> dict[str, torch.Tensor]:
    dataset = build_text_dataset({"local": str(news_mds / "tokens"), "split": split, "shuffle": False}, tokenizer, 128,
                                 1)
    samples = [dataset[i] for i in range(dataset.num_samples)]
    return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}


@pytest.fixture(scope="module")
def news_batch(news_mds, tokenizer) -> dict[str, torch.Tensor]:
    """The 189 real val articles, truncated/padded to 128 bert-base-uncased tokens."""
    return rows(news_mds, tokenizer)


def reference_words(tokenizer, input_ids: torch.Tensor) -> torch.Tensor:
    """Word number of every token (-1: special or padding), read from the token strings one by one."""
    special = set(tokenizer.all_special_ids)
    words = torch.full_like(input_ids, -1)
    count = 0
    for r, row in enumerate(input_ids.tolist()):
        previous_special = True
        for c, (token_id, token) in enumerate(zip(row, tokenizer.convert_ids_to_tokens(row))):
            if token_id in special:
                previous_special = True
                continue
            if previous_special or not token.startswith("##"):
                count += 1
            words[r, c], previous_special = count, False
    return words


def selected_words(labels: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per word: how many of its pieces were selected, and how many pieces it has."""
    real = words >= 0
    chosen = torch.zeros(int(words.max()) + 1).index_add_(0, words[real], (labels[real] != IGNORE_INDEX).float())
    pieces = torch.zeros(int(words.max()) + 1).index_add_(0, words[real], torch.ones(int(real.sum())))
    return chosen[1:], pieces[1:]


@pytest.mark.parametrize("rate", [0.30, 0.15])
def test_words_are_masked_whole_and_the_rate_counts_words(news_batch, tokenizer, rate):
    words = reference_words(tokenizer, news_batch["input_ids"])
    masker = MLMMasker(tokenizer, rate, whole_word=True)
    word_rates = []
    for _ in range(4):
        out = masker(news_batch)
        chosen, pieces = selected_words(out["labels"], words)
        assert torch.equal(chosen[chosen > 0], pieces[chosen > 0]), "a word was masked in part"
        assert not ((out["labels"] != IGNORE_INDEX) & (words < 0)).any(), "a special or padding token was masked"
        word_rates.append(float((chosen > 0).float().mean()))
        assert int((pieces[chosen > 0] > 1).sum()) > 100  # not vacuous: words of several pieces masked whole
    assert abs(sum(word_rates) / 4 - rate) < 0.01  # ~22k words per step
    masked = out["labels"] != IGNORE_INDEX
    as_mask = out["input_ids"][masked] == tokenizer.mask_token_id
    assert abs(float(as_mask.float().mean()) - 0.8) < 0.03  # each piece still draws 80/10/10


def test_whole_word_masks_are_a_pure_function_of_seed_step_and_sample(news_batch, tokenizer):
    full = MLMMasker(tokenizer, 0.3, seed=17, whole_word=True)(news_batch)
    # two ranks (or microbatches) with the same step mask exactly like one rank
    halves = [MLMMasker(tokenizer, 0.3, seed=17, whole_word=True)({k: v[i::2] for k, v in news_batch.items()})
              for i in (0, 1)]
    for key in ("input_ids", "labels"):
        assert torch.equal(halves[0][key], full[key][::2]) and torch.equal(halves[1][key], full[key][1::2])
    later = MLMMasker(tokenizer, 0.3, seed=17, whole_word=True)
    later.step = 1
    agreement = ((later(news_batch)["labels"] != IGNORE_INDEX) == (full["labels"] != IGNORE_INDEX)).float().mean()
    assert agreement < 0.8  # a new step, new words
    per_token = MLMMasker(tokenizer, 0.3, seed=17)(news_batch)
    assert not torch.equal(per_token["labels"], full["labels"])


def test_packed_documents_keep_their_words_apart(news_mds, tokenizer, tmp_path):
    import convert_dataset

    assert convert_dataset.main(["--source", "news", "--splits", "val", "--max_docs", "40", "--out_root",
                                 str(tmp_path), "--tokenizer", "bert-base-uncased", "--pack_documents", "128",
                                 "--no_progress", "--workers", "0"]) == 0
    dataset = build_text_dataset({"local": str(tmp_path), "split": "val", "shuffle": False}, tokenizer, 128, 1)
    batch = {k: torch.stack([dataset[i][k] for i in range(dataset.num_samples)]) for k in dataset[0]}
    assert int(batch["document_ids"].max()) > 1  # rows do hold several documents
    masker = MLMMasker(tokenizer, 0.3, whole_word=True)
    eligible = batch["attention_mask"].bool() & ~torch.isin(batch["input_ids"], torch.tensor(tokenizer.all_special_ids))
    starts = masker.word_starts(batch, eligible)
    assert torch.equal(batch["document_ids"].gather(-1, starts), batch["document_ids"])
    # a boundary inside a word (packing without separators) splits it: the second document's piece starts a word
    row = int(torch.nonzero((starts != torch.arange(128)) & eligible)[0, 0])
    column = int(torch.nonzero((starts[row] != torch.arange(128)) & eligible[row])[0, 0])
    split = {**batch, "document_ids": batch["document_ids"].clone()}
    split["document_ids"][row, column:] += 100
    assert int(masker.word_starts(split, eligible)[row, column]) == column


@pytest.fixture(scope="module")
def byte_level_bpe(news_articles, tmp_path_factory):
    """A 2,000-entry ModernBERT-style byte-level BPE learnt from 400 real news articles, saved and reloaded."""
    from mosaicbert.tokenizer import load_tokenizer

    folder = save_tokenizer(learn_vocabulary(news_articles[:400], "bpe", 2000), tmp_path_factory.mktemp("bpe") / "t")
    return load_tokenizer(str(folder))


def test_byte_level_bpe_words_start_at_a_space(byte_level_bpe, news_sentences):
    tokenizer = byte_level_bpe
    texts = news_sentences[:120]
    encoded = tokenizer(texts, padding=True, return_offsets_mapping=True, return_tensors="pt")
    batch = {k: encoded[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    # the reference: a piece belongs to the whitespace-separated word its last character is in
    words = torch.full_like(batch["input_ids"], -1)
    count = 0
    for r, text in enumerate(texts):
        first = count
        for c, (start, end) in enumerate(encoded["offset_mapping"][r].tolist()):
            if end > start and not text[start:end].isspace():
                words[r, c] = first + len(text[:end].split())
                count = max(count, int(words[r, c]))
    masker = MLMMasker(tokenizer, 0.3, whole_word=True)
    rates = []
    for _ in range(3):
        chosen, pieces = selected_words(masker(batch)["labels"], words)
        present = pieces > 0
        assert torch.equal(chosen[present & (chosen > 0)], pieces[present & (chosen > 0)]), "a word masked in part"
        rates.append(float((chosen[present] > 0).float().mean()))
    assert abs(sum(rates) / 3 - 0.3) < 0.03  # ~2,600 words per step
    assert (pieces[present] > 1).float().mean() > 0.1  # the check is not vacuous: many words have several pieces


def test_a_tokenizer_without_readable_word_starts_is_refused(news_articles, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    unigram = Tokenizer(models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    unigram.train_from_iterator(news_articles[:20], trainers.UnigramTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[MASK]"], unk_token="[UNK]", show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=unigram, pad_token="[PAD]", unk_token="[UNK]",
                                        mask_token="[MASK]")
    with pytest.raises(WordBoundaryError, match="Unigram"):
        MLMMasker(tokenizer, 0.3, whole_word=True)
    MLMMasker(tokenizer, 0.3)  # per-token masking needs no word starts


def test_whole_word_masking_reads_nothing_back_to_the_host(news_batch, tokenizer):
    from mosaicbert.measurement.host_syncs import HostSyncCounter

    masker = MLMMasker(tokenizer, 0.3, whole_word=True)
    masker(news_batch)  # the tables reach the device once, outside the count
    with HostSyncCounter() as syncs:
        masker({**news_batch, "document_ids": news_batch["attention_mask"].clone()})
    assert syncs.calls == []
