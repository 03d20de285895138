"""Offline tokenizer resolution."""

import hashlib

import pytest

from mosaicbert.tokenizer import load_tokenizer, offline_bert_uncased_dir


def test_bert_base_uncased_resolves_offline_to_the_real_vocab(tokenizer):
    vocab = (offline_bert_uncased_dir() / "vocab.txt").read_bytes()
    assert hashlib.md5(vocab).hexdigest() == "64800d5d8528ce344256daf115d4965e"
    assert len(tokenizer) == 30522
    ids = tokenizer("The Senate passed the bill on Tuesday.")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == [
        "[CLS]", "the", "senate", "passed", "the", "bill", "on", "tuesday", ".", "[SEP]"]


def test_local_directory_path_loads(minilm_dir):
    assert len(load_tokenizer(str(minilm_dir))) == 30522


def test_unresolvable_name_is_one_clear_error():
    with pytest.raises(OSError, match="could not load tokenizer 'no-such-org/no-such-tokenizer'; tried: "):
        load_tokenizer("no-such-org/no-such-tokenizer")
