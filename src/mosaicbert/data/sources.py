"""Document sources for conversion: each split of a corpus as an iterator over document texts.

Registry ``SOURCES`` (name -> builder):

* ``news``  - the embedded offline news corpus (splits ``train``, ``val``), see :mod:`mosaicbert.data.news`.
* ``addresses`` - the US State of the Union addresses, long documents (splits ``train``, ``val``), see
  :mod:`mosaicbert.data.state_of_the_union`.
* ``c4``    - ``allenai/c4`` (config ``en``) streamed from the Hugging Face Hub; splits ``train``,
  ``validation`` and the original recipe's subsets ``train_small`` (first 100,000 train documents)
  and ``val`` (the validation split).
* ``hub``   - any Hub text dataset by name (``dataset``, optional ``config``), streamed.
* ``files`` - local files: ``.txt`` (one document per line), ``.jsonl``, ``.json``, ``.parquet``,
  ``.csv``; given as paths, globs or directories, optionally per split as ``SPLIT=PATTERN``. CSV and Parquet
  are streamed through Hugging Face ``datasets``; text and JSON are read here (see the comment above the readers).

Every failure to read is a :class:`DataSourceError` whose one-line message names the culprit.
"""

from __future__ import annotations

import csv
import glob
import itertools
import json
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from mosaicbert import exit_codes
from mosaicbert.data.news import news_splits
from mosaicbert.data.state_of_the_union import addresses_splits


class DataSourceError(Exception):
    """A corpus that cannot be opened (missing input, unknown column, unreachable Hub): fix the command."""

    exit_code = exit_codes.USAGE


class DataContentError(DataSourceError):
    """Input that opens but is malformed inside (invalid JSON at a line, a damaged file): fix the data."""

    exit_code = exit_codes.FAILED


@dataclass(frozen=True)
class SplitSource:
    """One split of a corpus: a description for messages and a factory of document iterators."""

    description: str
    documents: Callable[[], Iterator[str]]


def _missing_column(columns: Iterable, text_column: str, where: str) -> DataSourceError:
    return DataSourceError(f"{where}: no column {text_column!r}; available columns: "
                           f"{', '.join(map(str, columns)) or '(none)'}")


def _column(record: dict, text_column: str, where: str) -> str:
    """The text of one record, or a clear error listing the columns that do exist."""
    if not isinstance(record, dict):
        raise DataContentError(f"{where}: expected records with a {text_column!r} column, "
                              f"found {type(record).__name__}")
    if text_column not in record:
        raise _missing_column(record, text_column, where)
    return record[text_column]


# Which reader serves which file type, and why:
# * .csv, .parquet: Hugging Face ``datasets`` (builders ``csv``, pandas' C parser, and ``parquet``), streamed one file
#   at a time in batches of ``ROWS_PER_BATCH`` rows (here CSV ~1.3x faster than ``csv.DictReader``, Parquet ~1.3x
#   slower than pyarrow alone).
# * .txt, .jsonl, .json: read here. ``datasets``' ``text`` builder splits lines exactly as a file iterator does but
#   reads ~9x slower here; its ``json`` builder gives no line numbers (errors name a row of a 10 MB block), turns a
#   missing text field into None, fails on valid JSON lines that add a field after its first 10 MB ("column names
#   don't match"), parses those 10 MB twice and, on a bad line, loads the whole file into pandas. The readers here
#   are a loop over lines with ``json.loads``, ~3x faster, naming ``file:line`` for every failure.

ROWS_PER_BATCH = 1_000  # rows of a CSV or Parquet file held in memory at once


def _read_txt(path: Path, text_column: str) -> Iterator[str]:
    """One document per line (universal newlines, line breaks dropped)."""
    with open(path, encoding="utf-8") as f:
        yield from (line.rstrip("\n") for line in f)


def _read_jsonl(path: Path, text_column: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataContentError(f"{path}:{line_number}: invalid JSON ({err.msg})") from None
            yield _column(record, text_column, f"{path}:{line_number}")


def _read_json(path: Path, text_column: str) -> Iterator[str]:
    """A JSON array of records, or JSON lines under a ``.json`` name (as Hugging Face datasets write)."""
    with open(path, encoding="utf-8") as f:
        first = f.read(1)
        while first.isspace():
            first = f.read(1)
    if first != "[":
        yield from _read_jsonl(path, text_column)
        return
    with open(path, encoding="utf-8") as f:
        try:
            records = json.load(f)
        except json.JSONDecodeError as err:
            raise DataContentError(f"{path}: invalid JSON ({err.msg} at line {err.lineno})") from None
    for index, record in enumerate(records):
        yield _column(record, text_column, f"{path}[{index}]")


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """``datasets``' logs (its builders log each failure before raising it) and progress bars off, then restored."""
    import datasets
    from datasets.utils import logging as datasets_logging

    verbosity, bars_off = datasets_logging.get_verbosity(), datasets.are_progress_bars_disabled()
    datasets_logging.set_verbosity(datasets_logging.CRITICAL)
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets_logging.set_verbosity(verbosity)
        if not bars_off:
            datasets.enable_progress_bars()


def _open_stream(builder: str, path: Path, cache_dir: str, **options):
    """One local file as a streamed ``datasets.IterableDataset``. ``load_dataset`` takes ``data_files`` as glob
    patterns (hence the escape) and writes a lock file into its cache even when streaming (hence a throw-away
    ``cache_dir``: nothing lands in ~/.cache, and a read-only home works)."""
    import datasets

    with _quiet_datasets():
        return datasets.load_dataset(builder, data_files=glob.escape(str(path.absolute())), split="train",
                                     streaming=True, cache_dir=cache_dir, **options)


def _texts(stream, text_column: str) -> Iterator[str]:
    """The texts of a stream in order, fetched ``ROWS_PER_BATCH`` at a time with ``datasets`` kept quiet."""
    batches = stream.iter(batch_size=ROWS_PER_BATCH)
    while True:
        with _quiet_datasets():
            batch = next(batches, None)
        if batch is None:
            return
        yield from batch[text_column]


def _csv_header(path: Path) -> list[str]:
    """The column names of a CSV file (for messages only; an empty file has none)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f), [])


def _read_csv(path: Path, text_column: str) -> Iterator[str]:
    """Fields as written (no NA or number conversion, no index column guessed from a long row): rows past the
    header's width are cut and short ones give empty texts, as with ``csv.DictReader``; a BOM is skipped. A quote
    left open is an error (``csv.DictReader`` took the rest of the file as one field)."""
    import datasets

    features = datasets.Features({text_column: datasets.Value("string")})
    with tempfile.TemporaryDirectory(prefix="mosaicbert-datasets-") as cache:
        stream = _open_stream("csv", path, cache, features=features, usecols=[text_column], index_col=False,
                              keep_default_na=False, na_filter=False, encoding="utf-8", chunksize=ROWS_PER_BATCH)
        try:
            yield from _texts(stream, text_column)
        except UnicodeDecodeError:
            raise
        except ValueError as err:  # pandas' errors (unknown column, empty file, unclosed quote) are ValueErrors
            header = _csv_header(path)
            if text_column not in header:
                raise _missing_column(header, text_column, str(path)) from None
            raise DataContentError(f"{path}: not a readable CSV file ({str(err).strip()})") from None


def _read_parquet(path: Path, text_column: str) -> Iterator[str]:
    """Only the text column is read from disk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="mosaicbert-datasets-") as cache:
        try:
            stream = _open_stream("parquet", path, cache, columns=[text_column], batch_size=ROWS_PER_BATCH)
        except Exception as err:  # pyarrow raises several types for a damaged or foreign file
            raise DataContentError(f"{path}: not a readable Parquet file ({err})") from None
        if text_column not in (stream.features or {}):
            raise _missing_column(pq.read_schema(path).names, text_column, str(path))
        try:
            yield from _texts(stream, text_column)
        except pa.ArrowInvalid as err:
            raise DataContentError(f"{path}: not a readable Parquet file ({err})") from None


FILE_READERS: dict[str, Callable[[Path, str], Iterator[str]]] = {
    ".txt": _read_txt,
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
}


def resolve_files(patterns: Sequence[str]) -> list[Path]:
    """Expand paths, globs and directories (searched recursively for supported files), in sorted order."""
    files: list[Path] = []
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in FILE_READERS)
            if not found:
                raise DataSourceError(f"{pattern}: directory holds no {'/'.join(FILE_READERS)} files")
        elif glob.has_magic(pattern):
            found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not found:
                raise DataSourceError(f"{pattern}: no file matches")
        elif path.is_file():
            found = [path]
        else:
            raise DataSourceError(f"{pattern}: input not found")
        for file in found:
            if file.suffix not in FILE_READERS:
                raise DataSourceError(f"{file}: unsupported file type {file.suffix!r} "
                                      f"(supported: {', '.join(FILE_READERS)})")
        files += found
    return files


def iter_file_documents(files: Sequence[Path], text_column: str = "text") -> Iterator[str]:
    """Documents of local files, in order; unreadable files raise :class:`DataSourceError`."""
    for file in files:
        try:
            yield from FILE_READERS[file.suffix](file, text_column)
        except (OSError, UnicodeDecodeError) as err:
            raise DataSourceError(f"{file}: cannot read ({err})") from None


def iter_hub_documents(name: str, config: str | None, split: str, text_column: str = "text",
                       max_docs: int | None = None) -> Iterator[str]:
    """Documents of a Hugging Face Hub dataset split, streamed (nothing is downloaded up front)."""
    import datasets

    where = f"Hugging Face dataset {name!r}" + (f" config {config!r}" if config else "") + f" split {split!r}"
    try:
        stream = datasets.load_dataset(name, config, split=split, streaming=True)
        records = iter(stream)
        first = next(records, None)
    except Exception as err:  # offline, unknown name, bad config/split: all surface as one message
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataSourceError(f"cannot open {where} ({message})") from None
    if first is None:
        return
    records = itertools.chain([first], records)
    if max_docs is not None:
        records = itertools.islice(records, max_docs)
    for record in records:
        yield _column(record, text_column, where)


# The original recipe's C4 splits: output split -> (Hub split, number of leading documents or all).
C4_SPLITS: dict[str, tuple[str, int | None]] = {
    "train": ("train", None),
    "train_small": ("train", 100_000),
    "validation": ("validation", None),
    "val": ("validation", None),
}


def _news_source(splits: Sequence[str], **_) -> dict[str, SplitSource]:
    texts = news_splits()
    _check_splits("news", splits, texts)
    return {split: SplitSource(f"news articles ({split})", lambda s=split: iter(texts[s])) for split in splits}


def _addresses_source(splits: Sequence[str], **_) -> dict[str, SplitSource]:
    texts = addresses_splits()
    _check_splits("addresses", splits, texts)
    return {split: SplitSource(f"State of the Union addresses ({split})", lambda s=split: iter(texts[s]))
            for split in splits}


def _c4_source(splits: Sequence[str], text_column: str = "text", **_) -> dict[str, SplitSource]:
    _check_splits("c4", splits, C4_SPLITS)
    return {split: SplitSource(
        f"allenai/c4 en {split}",
        lambda s=split: iter_hub_documents("allenai/c4", "en", C4_SPLITS[s][0], text_column, C4_SPLITS[s][1]),
    ) for split in splits}


def _hub_source(splits: Sequence[str], dataset: str | None = None, config: str | None = None,
                text_column: str = "text", **_) -> dict[str, SplitSource]:
    if not dataset:
        raise DataSourceError("--source hub needs --dataset NAME (a Hugging Face Hub dataset)")
    return {split: SplitSource(
        " ".join(filter(None, (dataset, config, split))),
        lambda s=split: iter_hub_documents(dataset, config, s, text_column),
    ) for split in splits}


def _files_source(splits: Sequence[str], files: Sequence[str] = (), text_column: str = "text",
                  **_) -> dict[str, SplitSource]:
    """``files`` entries are ``SPLIT=PATTERN`` or a bare ``PATTERN`` (belonging to the first split)."""
    if not files:
        raise DataSourceError("--source files needs --files PATTERN [PATTERN ...]")
    patterns: dict[str, list[str]] = {}
    for entry in files:
        split, sep, pattern = entry.partition("=")
        if not sep or Path(entry).exists():
            split, pattern = splits[0], entry
        patterns.setdefault(split, []).append(pattern)
    resolved = {split: resolve_files(found) for split, found in patterns.items()}
    return {split: SplitSource(", ".join(patterns[split]),
                               lambda s=split: iter_file_documents(resolved[s], text_column))
            for split in resolved}


def _check_splits(source: str, splits: Iterable[str], known: Iterable[str]) -> None:
    unknown = [s for s in splits if s not in known]
    if unknown:
        raise DataSourceError(f"source {source!r} has no split {unknown[0]!r}; choose from {', '.join(known)}")


SOURCES: dict[str, Callable[..., dict[str, SplitSource]]] = {
    "news": _news_source,
    "addresses": _addresses_source,
    "c4": _c4_source,
    "hub": _hub_source,
    "files": _files_source,
}


def open_source(name: str, splits: Sequence[str], **options) -> dict[str, SplitSource]:
    """The requested splits of source ``name`` (``news``, ``c4``, ``hub``, ``files``); see the module doc."""
    if name not in SOURCES:
        raise DataSourceError(f"unknown source {name!r}; choose from {', '.join(SOURCES)}")
    return SOURCES[name](splits, **options)
