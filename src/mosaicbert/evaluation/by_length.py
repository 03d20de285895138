"""Held-out MLM of one checkpoint at several input lengths (``evaluate_mlm.py``): a table row and a JSON entry each.

Data is an MDS dataset (scored as stored: token-id samples truncated or padded to each length, text samples
tokenized and truncated; the real-token count says which) or a ``.txt``/``.jsonl`` file, packed at each length
into full rows by ``convert_dataset.py``'s code (documents joined by [SEP]). A length past the model's
position table is skipped with a note; if every length is, that is a usage error.

``--whole_words`` scores a text file's words instead (``masked_words.py``): words chosen on the text, every piece of
a chosen word masked, nats per masked word — the measure that compares models with different vocabularies.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mosaicbert import exit_codes
from mosaicbert.atomic_write import write_text_atomically

TEXT_SUFFIXES = (".txt", ".jsonl")
DEFAULT_SPLIT = "val"
EMPTY_CORPUS = "empty corpus"  # how data.conversion says that no row could be packed


class EvaluationUsageError(ValueError):
    """A command line that cannot be evaluated (a length, a data location), in one line."""

    exit_code = exit_codes.USAGE


@dataclass
class LengthData:
    """Where the samples of one length are, and how many documents they came from (when known)."""

    local: Path
    split: str | None
    documents: int | None = None


def mds_split(data: Path) -> LengthData:
    """An MDS directory: a split folder itself (``index.json`` inside) or a root with a ``val`` split."""
    if (data / "index.json").is_file():
        return LengthData(data, None)
    if (data / DEFAULT_SPLIT / "index.json").is_file():
        return LengthData(data, DEFAULT_SPLIT)
    raise FileNotFoundError(f"--data {data}: no MDS dataset (index.json) in it or in {data / DEFAULT_SPLIT}")


def packed_file(data: Path, tokenizer_name: str, length: int, work_dir: Path) -> LengthData | None:
    """A text file packed into ``length``-token rows (MDS under ``work_dir``); None: too short for one row."""
    from mosaicbert.data.conversion import ConversionError, ConversionOptions, convert_splits
    from mosaicbert.data.sources import open_source

    out = work_dir / f"packed-{length}"
    try:
        summary = convert_splits(open_source("files", [DEFAULT_SPLIT], files=[f"{DEFAULT_SPLIT}={data}"]), out,
                                 ConversionOptions(tokenizer=tokenizer_name, concat_tokens=length, workers=0,
                                                   progress=False))
    except ConversionError as err:
        if str(err).startswith(EMPTY_CORPUS):
            return None
        raise
    return LengthData(out, DEFAULT_SPLIT, summary[0].documents)


@dataclass
class WholeWords:
    """How ``--whole_words`` cuts and keeps passages (see ``masked_words.heldout_passages``)."""

    compare_with: list[str]
    words: int | None = None
    words_per_passage: int = 60


def whole_word_samples(loaded, data: Path, length: int, whole: WholeWords, rate: float, seed: int):
    """The passages of a text file every named tokenizer fits at ``length``, as pre-masked samples of the model's
    tokenizer (None: no passage fits)."""
    from mosaicbert.data.sources import open_source
    from mosaicbert.tokenizer import load_tokenizer

    from .masked_words import MaskedWordSamples, heldout_passages

    texts = list(open_source("files", [DEFAULT_SPLIT], files=[f"{DEFAULT_SPLIT}={data}"])[DEFAULT_SPLIT].documents())
    tokenizers = [loaded.tokenizer, *(load_tokenizer(name) for name in whole.compare_with)]
    try:
        passages = heldout_passages(texts, tokenizers, length, rate=rate, seed=seed,
                                    words_per_passage=whole.words_per_passage, max_words=whole.words)
    except ValueError:
        return None, len(texts)
    return MaskedWordSamples(loaded.tokenizer, passages, length), len(texts)


def check_data(data: Path, whole_words: bool = False) -> None:
    if not data.exists():
        raise FileNotFoundError(f"--data {data}: no such file or directory")
    if data.is_file() and data.suffix not in TEXT_SUFFIXES:
        raise EvaluationUsageError(f"--data {data}: give an MDS directory or a {' / '.join(TEXT_SUFFIXES)} file")
    if whole_words and not data.is_file():
        raise EvaluationUsageError(f"--data {data}: --whole_words chooses the words on the text: give a "
                                   f"{' / '.join(TEXT_SUFFIXES)} file")


def plan_lengths(lengths: list[int], capacity: int | None, model: str) -> tuple[list[int], dict[str, str]]:
    """Lengths the model can take, and a note for each it cannot; a usage error when it takes none."""
    if any(n < 8 for n in lengths):
        raise EvaluationUsageError(f"--lengths {' '.join(map(str, lengths))}: lengths start at 8 tokens")
    kept = [n for n in lengths if capacity is None or n <= capacity]
    skipped = {str(n): f"longer than the model's {capacity}-position table" for n in lengths if n not in kept}
    if not kept:
        raise EvaluationUsageError(f"--lengths {' '.join(map(str, lengths))}: {model} takes at most {capacity} "
                                   "tokens (absolute position table)")
    return kept, skipped


def table(results: dict) -> list[str]:
    """One row per length (skipped ones with their note)."""
    words = any("nats_per_word" in row for row in results["by_length"].values())
    lines = [f"{'length':>7} {'documents':>9} {'samples':>8} {'real tokens':>12} {'masked':>8} {'CE':>7} "
             f"{'accuracy':>8}" + (f" {'words':>7} {'nats/word':>9}" if words else "")]
    for n in results["lengths"]:
        row = results["by_length"].get(str(n))
        if row is None:
            lines.append(f"{n:>7}  skipped: {results['skipped'][str(n)]}")
            continue
        documents = "-" if row.get("documents") is None else str(row["documents"])
        lines.append(f"{n:>7} {documents:>9} {row['samples']:>8} {row['real_tokens']:>12} {row['masked_tokens']:>8} "
                     f"{row['cross_entropy']:>7.4f} {100 * row['accuracy']:>7.2f}%"
                     + (f" {row['masked_words']:>7} {row['nats_per_word']:>9.4f}" if words else ""))
    return lines


def evaluate_by_length(model: str, data: Path, lengths: list[int], *, tokens: int | None, batch_size: int,
                       rate: float, seed: int, device: str, precision: str, tokenizer: str | None = None,
                       out: Path | None = None, progress: bool = True, echo: Callable[[str], None] = print,
                       whole_words: WholeWords | None = None) -> dict:
    """Score ``model`` at each of ``lengths``; print the table, write ``out`` (JSON) if given; return the results.
    ``whole_words``: nats per masked word on words chosen on the text (a text file)."""
    from mosaicbert.precision import resolve_precision

    from .heldout_mlm import heldout_mlm, heldout_samples
    from .masked_words import nats_per_word
    from .mlm_model import load_mlm_model

    check_data(data, whole_words is not None)
    trainer_precision, autocast_dtype = resolve_precision(precision, device, key="--precision")
    with tempfile.TemporaryDirectory(prefix="evaluate_mlm-") as tmp:
        loaded = load_mlm_model(model, Path(tmp) / "tokenizer", tokenizer, autocast_dtype)
        kept, skipped = plan_lengths(lengths, loaded.max_length, f"{model} ({loaded.family})")
        for n, note in skipped.items():
            echo(f"length {n}: skipped ({note})")
        by_length = {}
        for n in kept:
            if whole_words is not None:
                samples, documents = whole_word_samples(loaded, data, n, whole_words, rate, seed)
            else:
                where = packed_file(data, loaded.tokenizer_name, n, Path(tmp)) if data.is_file() else mds_split(data)
                samples = where and heldout_samples(loaded.tokenizer, where.local, n, tokens, where.split)
                documents = where and where.documents
            if not samples:  # a text shorter than one packed row, or no passage that fits
                skipped[str(n)] = f"no {n}-token sample in the data"
                echo(f"length {n}: skipped ({skipped[str(n)]})")
                continue
            scores = heldout_mlm(loaded.model, loaded.tokenizer, samples, batch_size=batch_size, rate=rate,
                                 seed=seed, device=device, precision=trainer_precision,
                                 progress=f"length {n}" if progress else None, premasked=whole_words is not None)
            if whole_words is not None:
                scores = {**scores, **nats_per_word(scores, samples)}
            by_length[str(n)] = {"documents": documents, **scores}
    results = {"model": model, "family": loaded.family, "data": str(data), "lengths": list(lengths), "rate": rate,
               "seed": seed, "tokens_per_length": tokens,
               "whole_words": None if whole_words is None else dataclasses.asdict(whole_words),
               "precision": precision, "device": device, "by_length": by_length, "skipped": skipped}
    for line in table(results):
        echo(line)
    if out is not None:
        write_text_atomically(out, json.dumps(results, indent=2) + "\n")
        echo(f"wrote {out}")
    return results
