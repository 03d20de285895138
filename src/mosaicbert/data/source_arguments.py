"""The corpus flags every corpus reader's command line shares (convert_dataset.py, train_tokenizer.py).

One definition, so a corpus that one command reads, the other reads with the same flags: ``--source``, ``--splits``,
``--files``, ``--dataset``, ``--config``, ``--text_column`` (see :mod:`mosaicbert.data.sources`). Imports nothing
heavy: ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Mapping, Sequence

from mosaicbert.data.sources import SOURCES, DataSourceError, SplitSource, open_source


def add_source_arguments(parser: argparse.ArgumentParser, default_splits: Mapping[str, Sequence[str]],
                         verb: str = "convert") -> None:
    """Add the corpus flags to ``parser``; ``default_splits`` (source -> splits) is what ``--splits`` defaults to."""
    parser.add_argument("--source", required=True, choices=sorted(SOURCES), help=f"corpus to {verb}")
    parser.add_argument("--splits", nargs="+", help=f"splits to {verb} (default per source: "
                        + "; ".join(f"{k}: {' '.join(v)}" for k, v in default_splits.items()) + ")")
    parser.add_argument("--files", nargs="+", default=(), metavar="[SPLIT=]PATTERN",
                        help="--source files: paths, globs or directories (.txt .jsonl .json .parquet .csv); "
                             "a bare PATTERN belongs to the first split")
    parser.add_argument("--dataset", help="--source hub: Hugging Face dataset name")
    parser.add_argument("--config", help="--source hub: dataset config name")
    parser.add_argument("--text_column", default="text", help="column holding the document text (default: text)")


def splits_of(args: argparse.Namespace, default_splits: Mapping[str, Sequence[str]]) -> list[str]:
    """The splits the command line asks for, else the source's default."""
    if args.splits:
        return list(args.splits)
    if args.source not in default_splits:
        raise DataSourceError(f"--source {args.source} needs --splits (it has no default splits)")
    return list(default_splits[args.source])


def open_sources(args: argparse.Namespace, splits: Sequence[str]) -> dict[str, SplitSource]:
    """The document iterators of ``splits`` of the corpus the flags name."""
    return open_source(args.source, splits, files=args.files, dataset=args.dataset, config=args.config,
                       text_column=args.text_column)
