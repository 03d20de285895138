"""train_tokenizer.py's command line: learn a vocabulary from any corpus convert_dataset.py reads (its corpus flags,
data/source_arguments.py), save it, and print its fertility on held-out text next to a reference tokenizer's.

Held out: the ``--heldout_split`` given, else every ``--heldout_every``-th document of the stream (not learnt from).
--help imports nothing heavy.
"""

from __future__ import annotations

import argparse
import time
from typing import Iterable, Iterator

from mosaicbert.data.source_arguments import add_source_arguments, open_sources, splits_of
from mosaicbert.exit_codes import run_entry_point
from mosaicbert.tokenization.families import TOKENIZER_FAMILIES

PROG = "train_tokenizer.py"
DEFAULT_SPLITS = {"news": ["train"], "addresses": ["train"], "c4": ["train_small"], "hub": ["train"],
                  "files": ["train"]}
EMBEDDING_MULTIPLE = 64  # MosaicBERT's pad_vocab_size_multiple and ModernBERT's vocabulary padding

USAGE = """Learn a vocabulary from the corpora convert_dataset.py reads (same --source flags), e.g.
    python train_tokenizer.py --source files --files train=corpus.jsonl --vocab_size 32768 --out tokenizers/mine
    python train_tokenizer.py --source news --vocab_size 16384 --algorithm bpe --out tokenizers/news-bpe
Families: """ + "; ".join(f"{f.name}: {f.description} ({'cased' if f.cased else 'uncased'} by default, for "
                          f"{', '.join(f.model_families)})" for f in TOKENIZER_FAMILIES.values())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(p, DEFAULT_SPLITS, verb="learn from")
    p.add_argument("--vocab_size", type=int, required=True, help="entries, special tokens included")
    p.add_argument("--out", required=True, help="tokenizer folder to write")
    p.add_argument("--algorithm", default="wordpiece", choices=list(TOKENIZER_FAMILIES),
                   help="tokenizer family (default: wordpiece)")
    casing = p.add_mutually_exclusive_group()
    casing.add_argument("--cased", dest="cased", action="store_true", default=None, help="keep letter case")
    casing.add_argument("--uncased", dest="cased", action="store_false", help="lower-case (and strip accents)")
    p.add_argument("--max_docs", type=int, help="learn from at most this many documents")
    p.add_argument("--heldout_split", help="measure fertility on this split (default: every --heldout_every-th "
                                           "document of the learning stream, kept out of learning)")
    p.add_argument("--heldout_every", type=int, default=100, help="(default: 100)")
    p.add_argument("--heldout_docs", type=int, default=1000, help="documents to measure fertility on (default: 1000)")
    p.add_argument("--reference", default="bert-base-uncased",
                   help="tokenizer to compare fertility with, or 'none' (default: bert-base-uncased)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    return p


def _learning_stream(documents: Iterable[str], held_out: list[str] | None, every: int, limit: int,
                     max_docs: int | None, learnt: list[int]) -> Iterator[str]:
    """The documents learnt from (counted in ``learnt[0]``); with ``held_out`` a list, every ``every``-th one goes
    there instead (up to ``limit``)."""
    for index, document in enumerate(documents):
        if max_docs is not None and learnt[0] >= max_docs:
            return
        if held_out is not None and len(held_out) < limit and index % every == every - 1:
            held_out.append(document)
            continue
        learnt[0] += 1
        yield document


def train_tokenizer_main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # bad usage: argparse's one line and exit code 2

    def run() -> None:
        from itertools import islice

        from tqdm import tqdm

        from mosaicbert.tokenization.fertility import fertility
        from mosaicbert.tokenization.training import VocabularyError, check_vocab_size, learn_vocabulary, save_tokenizer
        from mosaicbert.tokenizer import load_tokenizer

        family = TOKENIZER_FAMILIES[args.algorithm]
        check_vocab_size(family, args.vocab_size)  # before any reading
        if args.heldout_every < 2:
            raise VocabularyError(f"--heldout_every {args.heldout_every}: must be 2 or more")
        splits = splits_of(args, DEFAULT_SPLITS)
        sources = open_sources(args, splits + ([args.heldout_split] if args.heldout_split else []))
        learning = [sources[s] for s in splits if s in sources]
        if not learning:
            raise VocabularyError(f"no split to learn from: {', '.join(splits)} not among {', '.join(sources)}")
        held_out: list[str] | None = None if args.heldout_split else []
        documents = (d for source in learning for d in source.documents())
        description = ", ".join(source.description for source in learning)
        learnt = [0]
        bar = tqdm(_learning_stream(documents, held_out, args.heldout_every, args.heldout_docs, args.max_docs, learnt),
                   desc="learning", unit=" docs", disable=args.no_progress, mininterval=1.0)
        started = time.perf_counter()
        tokenizer = learn_vocabulary(bar, args.algorithm, args.vocab_size, args.cased, description)
        bar.close()
        seconds = time.perf_counter() - started
        out = save_tokenizer(tokenizer, args.out, args.overwrite)
        cased = family.cased if args.cased is None else args.cased
        rows = -(-len(tokenizer) // EMBEDDING_MULTIPLE) * EMBEDDING_MULTIPLE
        print(f"{PROG}: learnt a {len(tokenizer):,}-entry {family.description} vocabulary "
              f"({'cased' if cased else 'uncased'}) from {learnt[0]:,} documents of {description} in {seconds:.1f} s "
              f"-> {out}")
        if len(tokenizer) < args.vocab_size:
            print(f"  fewer than the {args.vocab_size:,} asked: the corpus has no more pieces seen twice")
        print(f"  embedding rows: {rows:,} (the model reads the size from the tokenizer and pads to a multiple of "
              f"{EMBEDDING_MULTIPLE}); main.py model.tokenizer_name={out}")
        if held_out is None:
            held_out = [d for d in islice(sources[args.heldout_split].documents(), args.heldout_docs) if d.strip()]
        if not held_out:
            print("  fertility: no held-out documents")
            return
        where = (f"split {args.heldout_split}" if args.heldout_split
                 else f"every {args.heldout_every}th document, not learnt from")
        ours = fertility(tokenizer, held_out)
        line = (f"  fertility on {len(held_out):,} held-out documents ({where}; {ours.words:,} words): "
                f"{ours.per_word:.3f} sub-words per word ({out.name})")
        if args.reference.lower() != "none":
            reference = fertility(load_tokenizer(args.reference), held_out)
            line += f", {reference.per_word:.3f} ({args.reference})"
        print(line)

    return run_entry_point(PROG, run)
