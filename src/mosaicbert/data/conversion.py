"""Documents -> MosaicML Streaming MDS shards, written atomically.

Each split becomes ``OUT_ROOT/SPLIT`` holding one of two sample layouts:

* ``text`` (str): the raw document; the dataset tokenizes on the fly.
* ``input_ids`` (ndarray of token ids): a model-ready sequence with the tokenizer's special tokens
  (``[CLS] ... [SEP]`` for BERT) - one per document, or with ``concat_tokens=N`` fixed blocks of
  exactly N tokens cut from the documents joined by a separator token (the tail is dropped), or with
  ``pack_documents=N`` rows of at most N tokens holding whole documents (long ones split into pieces, each
  with its own special tokens) plus a ``document_lengths`` column, so attention can stay within each document
  (:mod:`mosaicbert.data.document_packing`).

Tokenization runs in a pool of worker processes over chunks of documents (order preserved, so the
output does not depend on the number of workers). The split is written into a hidden temporary
directory beside the target and renamed into place only when complete; leftovers of killed runs are
removed by the next run, and an existing output is replaced only with ``overwrite``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import signal
import time
from collections import deque
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from mosaicbert import exit_codes
from mosaicbert.data.document_packing import DocumentPacker, special_tokens
from mosaicbert.data.mds_columns import DOCUMENT_LENGTHS, TEXT, TOKENS
from mosaicbert.data.sources import SplitSource
from mosaicbert.tokenizer import load_tokenizer


class ConversionError(Exception):
    """A conversion that cannot start or finish (existing output, empty corpus, bad option)."""

    exit_code = exit_codes.USAGE


@dataclass
class ConversionOptions:
    """How documents become MDS samples (see the module doc)."""

    tokenizer: str | None = None
    concat_tokens: int | None = None
    pack_documents: int | None = None
    separator_token: str | None = None
    compression: str | None = "zstd"
    size_limit: str = "64mb"
    max_docs: int | None = None
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    chunk_docs: int = 64
    overwrite: bool = False
    progress: bool = True


@dataclass
class ConversionSummary:
    """What one converted split holds and how long it took."""

    split: str
    out_dir: Path
    documents: int
    samples: int
    tokens: int
    shards: int
    bytes: int
    seconds: float
    row_length: int | None = None  # packed rows: their capacity (packing efficiency = tokens / slots)

    @property
    def packing_efficiency(self) -> float | None:
        """Real tokens / token slots of the packed rows."""
        return self.tokens / (self.samples * self.row_length) if self.row_length and self.samples else None

    def __str__(self) -> str:
        rate = self.documents / max(self.seconds, 1e-9)
        tokens = f", {self.tokens:,} tokens ({self.tokens / max(self.seconds, 1e-9):,.0f}/s)" if self.tokens else ""
        if self.packing_efficiency is not None:
            tokens += f", {self.packing_efficiency:.1%} of {self.row_length}-token rows filled"
        return (f"{self.split}: {self.documents:,} documents -> {self.samples:,} samples{tokens}, "
                f"{self.shards} shard(s), {self.bytes / 1e6:,.1f} MB in {self.seconds:.1f} s "
                f"({rate:,.0f} docs/s) -> {self.out_dir}")


# Tokenizer of a worker process, set once by the pool initializer.
_worker_tokenizer = None
_worker_special_tokens = True


def _init_worker(tokenizer_name: str, add_special_tokens: bool) -> None:
    global _worker_tokenizer, _worker_special_tokens
    _worker_tokenizer = load_tokenizer(tokenizer_name)
    _worker_special_tokens = add_special_tokens


def _init_pool_worker(tokenizer_name: str, add_special_tokens: bool) -> None:
    # Ctrl-C is the parent's business, and SIGTERM (Pool.terminate) must end a worker at once even when the
    # parent had a Python-level SIGTERM handler (Composer installs one on import).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _init_worker(tokenizer_name, add_special_tokens)


def _tokenize_chunk(texts: list[str]) -> list[np.ndarray]:
    encoded = _worker_tokenizer(texts, add_special_tokens=_worker_special_tokens, verbose=False,
                                return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    return [np.asarray(ids, dtype=np.int64) for ids in encoded]


def _is_document(text) -> bool:
    """Whether a text is worth a sample: empty or missing texts are skipped, non-texts are an error."""
    if text is None:
        return False
    if not isinstance(text, str):
        raise ConversionError(f"a document is a {type(text).__name__}, not text (check --text_column)")
    return not text.isspace() and text != ""


def _chunks(documents: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(documents)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _bounded_imap(pool, function, chunks: Iterable[list[str]], in_flight: int) -> Iterator[list[np.ndarray]]:
    """``pool.imap`` that reads ahead at most ``in_flight`` chunks (Pool.imap would read the whole corpus)."""
    pending: deque = deque()
    for chunk in chunks:
        pending.append(pool.apply_async(function, (chunk,)))
        if len(pending) >= in_flight:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _token_dtype(vocab_size: int) -> str:
    return "uint16" if vocab_size <= np.iinfo(np.uint16).max + 1 else "uint32"


class _Blocks:
    """Cuts a stream of documents' token ids, joined by a separator, into fixed-length wrapped blocks."""

    def __init__(self, tokenizer, length: int, separator_token: str | None):
        separator_token = separator_token or tokenizer.sep_token or tokenizer.eos_token
        self.separator = tokenizer.convert_tokens_to_ids(separator_token)
        if self.separator is None or self.separator == tokenizer.unk_token_id:
            raise ConversionError(f"--separator_token {separator_token!r} is not in the tokenizer's vocabulary")
        self.prefix, self.suffix = special_tokens(tokenizer)
        self.body = length - len(self.prefix) - len(self.suffix)
        if self.body < 1:
            raise ConversionError(f"--concat_tokens {length} leaves no room besides the special tokens")
        self.pending = np.zeros(0, dtype=np.int64)

    def add(self, documents: list[np.ndarray]) -> list[np.ndarray]:
        """Append documents (each followed by the separator) and return the blocks now complete."""
        parts = [self.pending]
        for ids in documents:
            parts += [ids, np.asarray([self.separator], dtype=np.int64)]
        stream = np.concatenate(parts)
        complete = len(stream) // self.body
        self.pending = stream[complete * self.body:]
        return [np.concatenate([self.prefix, body, self.suffix])
                for body in np.split(stream[:complete * self.body], complete)] if complete else []


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(target: Path) -> None:
    """Delete temporary directories that killed conversions of ``target`` left behind."""
    for partial in target.parent.glob(f".{target.name}.*-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if partial.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _publish(staging: Path, target: Path) -> None:
    """Move a finished split into place, replacing an existing one (only reached with ``overwrite``)."""
    if target.exists():
        retired = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, retired)
        os.rename(staging, target)
        shutil.rmtree(retired)
    else:
        os.rename(staging, target)


def check_targets(out_root: str | os.PathLike, splits: Sequence[str], overwrite: bool) -> None:
    """Refuse to start when an output split already exists and ``overwrite`` is not set."""
    existing = [str(Path(out_root) / split) for split in splits if (Path(out_root) / split).exists()]
    if existing and not overwrite:
        raise ConversionError(f"output already exists: {', '.join(existing)} (pass --overwrite to replace it)")


@contextmanager
def _tokenizing(options: ConversionOptions, add_special_tokens: bool):
    """A function mapping chunks of documents to chunks of token ids, in order, in ``options.workers`` processes."""
    if options.workers == 0:
        _init_worker(options.tokenizer, add_special_tokens)
        yield lambda chunks: map(_tokenize_chunk, chunks)
        return
    pool = multiprocessing.get_context().Pool(options.workers, _init_pool_worker,
                                              (options.tokenizer, add_special_tokens))
    try:
        yield lambda chunks: _bounded_imap(pool, _tokenize_chunk, chunks, 4 * options.workers)
        pool.close()
        pool.join()
    finally:
        pool.terminate()


def _samples(documents: Iterable[str], options: ConversionOptions, stack: ExitStack) -> tuple[dict, Iterator]:
    """MDS columns and an iterator of (documents consumed, samples) per chunk of documents."""
    chunks = _chunks(documents, options.chunk_docs)
    if not options.tokenizer:
        return {TEXT: "str"}, ((len(chunk), [{TEXT: text} for text in chunk]) for chunk in chunks)
    tokenizer = load_tokenizer(options.tokenizer)
    dtype = _token_dtype(len(tokenizer))
    if options.pack_documents:
        return _packed_samples(tokenizer, dtype, chunks, options, stack)
    blocks = _Blocks(tokenizer, options.concat_tokens, options.separator_token) if options.concat_tokens else None
    tokenize = stack.enter_context(_tokenizing(options, add_special_tokens=blocks is None))

    def samples():
        for ids in tokenize(chunks):
            yield len(ids), [{TOKENS: sample.astype(dtype)} for sample in (blocks.add(ids) if blocks else ids)]

    return {TOKENS: f"ndarray:{dtype}"}, samples()


def _packed_samples(tokenizer, dtype: str, chunks: Iterator[list[str]], options: ConversionOptions,
                    stack: ExitStack) -> tuple[dict, Iterator]:
    """``_samples`` for ``pack_documents``: rows of whole documents with their lengths."""
    try:
        packer = DocumentPacker(tokenizer, options.pack_documents)
    except ValueError as err:
        raise ConversionError(str(err)) from None
    tokenize = stack.enter_context(_tokenizing(options, add_special_tokens=False))

    def rows(packed):
        return [{TOKENS: ids.astype(dtype), DOCUMENT_LENGTHS: lengths} for ids, lengths in packed]

    def samples():
        for ids in tokenize(chunks):
            yield len(ids), rows(packer.add(ids))
        yield 0, rows(packer.finish())

    return {TOKENS: f"ndarray:{dtype}", DOCUMENT_LENGTHS: "ndarray:uint32"}, samples()


def convert_split(source: SplitSource, out_dir: str | os.PathLike, options: ConversionOptions) -> ConversionSummary:
    """Convert one split's documents into MDS shards at ``out_dir`` (atomically; see the module doc)."""
    from streaming import MDSWriter  # here: Streaming loads torch, which convert_dataset.py --help does not need

    target = Path(out_dir).expanduser().absolute()
    check_targets(target.parent, [target.name], options.overwrite)
    for flag in ("concat_tokens", "pack_documents"):
        if getattr(options, flag) is not None and not options.tokenizer:
            raise ConversionError(f"--{flag} needs --tokenizer")
    if options.concat_tokens is not None and options.pack_documents is not None:
        raise ConversionError("--concat_tokens and --pack_documents exclude each other: choose one")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    start = time.perf_counter()
    documents = itertools.islice(filter(_is_document, source.documents()), options.max_docs)
    num_docs = num_samples = num_tokens = 0
    with ExitStack() as stack:
        columns, chunks = _samples(documents, options, stack)
        bar = stack.enter_context(tqdm(desc=f"converting {source.description}", unit=" docs", total=options.max_docs,
                                       disable=not options.progress, dynamic_ncols=True))
        writer = MDSWriter(columns=columns, out=str(staging), compression=options.compression,
                           size_limit=options.size_limit)
        try:
            for consumed, samples in chunks:
                for sample in samples:
                    writer.write(sample)
                num_docs += consumed
                num_samples += len(samples)
                bar.update(consumed)
                if TOKENS in columns:
                    num_tokens += sum(len(sample[TOKENS]) for sample in samples)
                    bar.set_postfix(tokens=f"{num_tokens:,}",
                                    tok_s=f"{num_tokens / max(bar.format_dict['elapsed'], 1e-9):,.0f}")
            if num_samples == 0:
                raise ConversionError(f"empty corpus: {source.description} has no documents"
                                      + (" long enough for one block" if num_docs else ""))
            writer.finish()
            shards, size = len(writer.shards), sum(f.stat().st_size for f in staging.iterdir())
            _publish(staging, target)
        except BaseException:
            writer.cancel_future_jobs()
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return ConversionSummary(target.name, target, num_docs, num_samples, num_tokens, shards, size,
                             time.perf_counter() - start, options.pack_documents)


def convert_splits(sources: dict[str, SplitSource], out_root: str | os.PathLike,
                   options: ConversionOptions) -> list[ConversionSummary]:
    """Convert every split to ``OUT_ROOT/SPLIT``; all targets are checked before any work starts."""
    check_targets(out_root, list(sources), options.overwrite)
    return [convert_split(source, Path(out_root) / split, options) for split, source in sources.items()]
