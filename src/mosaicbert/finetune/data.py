"""Task data: GLUE from the Hub or a local directory (GLUE's own TSV files or JSONL), and user CSV/JSONL files.

Every reader validates as it goes and raises :class:`DataFormatError` with one line naming the file, the
line and the problem (missing file, missing column, bad label, wrong number of fields).

Local files are read with :mod:`csv` and :mod:`json`, not Hugging Face ``datasets``: every row keeps the line it
ends on, which messages need long after reading (a bad label found by :func:`collect_examples`, a missing one by
``custom_task``), and ``datasets`` gives rows only (pandas skips blank lines and quoted fields span lines, so a row's
index is no line number). It would also change what a row holds: its CSV reader (pandas) turns a TSV's ``"1"`` into
``1`` and fills a short row with None where the checks here name the line with too few fields.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from composer.utils import dist
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase

from mosaicbert import exit_codes
from mosaicbert.finetune.task import TaskSpec

HUB_DATASET = "nyu-mll/glue"


class DataFormatError(ValueError):
    """A task's data file is missing or malformed; the message is one line naming the culprit."""

    exit_code = exit_codes.FAILED


@dataclass
class Examples:
    """Texts and labels of one split; ``text_b`` is None for single-sentence tasks."""

    text_a: list[str]
    text_b: list[str] | None
    labels: list[int] | list[float]
    source: str

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Columns:
    """Which fields of a row hold the first text, the optional second text and the label."""

    text_a: str | int
    label: str | int
    text_b: str | int | None = None


def parse_label(raw: object, task: TaskSpec) -> int | float:
    """A label as the model wants it: a float score for regression, else a class id (from a name or an id)."""
    if task.is_regression:
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"label {raw!r} is not a number") from None
        low, high = task.label_range or (-math.inf, math.inf)
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"label {raw!r} is outside [{low}, {high}]")
        return value
    if str(raw) in task.label_names:
        return task.label_names.index(str(raw))
    # Class ids are accepted too, unless the class names are numbers themselves (then ids would be ambiguous).
    ids_allowed = not any(name.lstrip("-").isdigit() for name in task.label_names)
    try:
        class_id = int(raw) if ids_allowed and (not isinstance(raw, float) or raw.is_integer()) else None
    except (TypeError, ValueError):
        class_id = None
    if class_id is None or not 0 <= class_id < task.num_labels:
        choices = ", ".join(task.label_names)
        if ids_allowed:
            choices = f"{choices} or 0..{task.num_labels - 1}" if choices else f"0..{task.num_labels - 1}"
        raise ValueError(f"label {raw!r} is not one of {choices}")
    return class_id


def collect_examples(rows: Iterable[tuple[int, dict | list]], columns: Columns, task: TaskSpec,
                     source: str, unit: str = "line") -> Examples:
    """Validate rows ``(line or row number, fields)`` and gather their texts and labels."""
    text_a, text_b, labels = [], ([] if columns.text_b is not None else None), []
    for line, row in rows:
        try:
            text_a.append(_text(row, columns.text_a))
            if text_b is not None:
                text_b.append(_text(row, columns.text_b))
            labels.append(parse_label(_field(row, columns.label), task))
        except (KeyError, IndexError, ValueError) as err:
            raise DataFormatError(f"{source} {unit} {line}: {err.args[0] if err.args else err}") from None
    if not labels:
        raise DataFormatError(f"{source}: no examples")
    return Examples(text_a, text_b, labels, source)


def _field(row: dict | list, column: str | int) -> object:
    if isinstance(row, dict) and column not in row:
        raise KeyError(f"missing field {column!r}")
    return row[column]


def _text(row: dict | list, column: str | int) -> str:
    value = _field(row, column)
    if not isinstance(value, str):
        raise ValueError(f"field {column!r} is {value!r}, not text")
    return value


def _open_text(path: Path):
    if not path.is_file():
        raise DataFormatError(f"missing file {path}")
    return path.open(encoding="utf-8-sig", newline="")


def _read_rows(path: Path, *, delimiter: str, quoting: int, header: bool,
               required: Iterable[str | int]) -> Iterator[tuple[int, dict | list]]:
    """Rows of a delimited file with their line numbers, checking the header and the field count."""
    required = [c for c in required if c is not None]
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle, delimiter=delimiter, quoting=quoting)
            names = next(reader, None) if header else None
            if header:
                if names is None:
                    raise DataFormatError(f"{path}: empty file")
                missing = [c for c in required if c not in names]
                if missing:
                    raise DataFormatError(f"{path}: missing column {missing[0]!r} (header has: {', '.join(names)})")
            width = len(names) if names else max(required) + 1
            for row in reader:
                if not row:
                    continue
                if (len(row) != width) if names else (len(row) < width):
                    raise DataFormatError(f"{path} line {reader.line_num}: expected {width} fields, found {len(row)}")
                yield reader.line_num, dict(zip(names, row)) if names else row
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise DataFormatError(f"{path}: {err}") from None


def _read_jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        with _open_text(path) as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataFormatError(f"{path} line {line_number}: invalid JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise DataFormatError(f"{path} line {line_number}: expected a JSON object")
                yield line_number, row
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def read_records(path: Path, fmt: str, required: Iterable[str] = ()) -> Iterator[tuple[int, dict]]:
    """Rows of a JSONL (``fmt="jsonl"``: one object a line) or CSV file (header row, standard quoting; ``required``
    columns checked) with their line numbers: the readers of every fine-tuning task."""
    if fmt == "jsonl":
        return _read_jsonl_rows(path)
    return _read_rows(path, delimiter=",", quoting=csv.QUOTE_MINIMAL, header=True, required=required)


def iter_table_rows(path: Path, columns: Columns) -> Iterator[tuple[int, dict]]:
    """Rows of a user's CSV (header row, standard quoting), TSV or JSONL file with their line numbers."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl_rows(path)
    if suffix in {".csv", ".tsv"}:
        return _read_rows(path, delimiter="\t" if suffix == ".tsv" else ",", quoting=csv.QUOTE_MINIMAL, header=True,
                          required=(columns.text_a, columns.text_b, columns.label))
    raise DataFormatError(f"{path}: unsupported file type {suffix!r} (use .csv, .tsv or .jsonl)")


def read_table(path: Path, columns: Columns, task: TaskSpec) -> Examples:
    """Read a user's CSV, TSV or JSONL file (see :func:`iter_table_rows`)."""
    return collect_examples(iter_table_rows(path, columns), columns, task, str(path))


def read_glue_tsv(path: Path, task: TaskSpec) -> Examples:
    """Read one of GLUE's own TSV files (tab-separated, quoting off; CoLA without header)."""
    layout = task.tsv
    columns = Columns(layout.text_a, layout.label, layout.text_b)
    rows = _read_rows(path, delimiter="\t", quoting=csv.QUOTE_NONE, header=layout.has_header,
                      required=(layout.text_a, layout.text_b, layout.label))
    return collect_examples(rows, columns, task, str(path))


def hub_columns(task: TaskSpec) -> Columns:
    """Column names of the Hub dataset ``nyu-mll/glue`` (also used by JSONL task files)."""
    return Columns(task.text_a, "label", task.text_b)


def task_folders(task: TaskSpec, data_dir: str | Path) -> list[Path]:
    """Where a task's files may be: ``data_dir/<GLUE folder>`` (e.g. ``SST-2``), else ``data_dir/<task name>``."""
    return [Path(data_dir).expanduser() / name for name in dict.fromkeys(filter(None, (task.glue_dir, task.name)))]


def find_task_files(task: TaskSpec, data_dir: str | Path) -> dict[str, Path]:
    """Each split's file in ``data_dir/<GLUE folder or task name>/``: GLUE's TSV name, else ``<split>.jsonl``."""
    folders = task_folders(task, data_dir)
    folder = next((f for f in folders if f.is_dir()), None)
    if folder is None:
        raise DataFormatError(f"{task.name}: no folder {' or '.join(str(f) for f in folders)}")
    files = {}
    for split in task.splits:
        candidates = [folder / task.tsv_files[split]] if split in task.tsv_files else []
        candidates.append(folder / f"{split}.jsonl")
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise DataFormatError(f"{task.name}: missing file {' or '.join(str(c) for c in candidates)}")
        files[split] = found
    return files


def load_task_data(task: TaskSpec, data_dir: str | Path | None = None) -> dict[str, Examples]:
    """All splits of a GLUE task: from ``data_dir`` when given, else from the Hub dataset ``nyu-mll/glue``."""
    if data_dir is None:
        return {split: load_hub_split(task, split) for split in task.splits}
    loaded = {}
    for split, path in find_task_files(task, data_dir).items():
        is_jsonl = path.suffix == ".jsonl"
        loaded[split] = read_table(path, hub_columns(task), task) if is_jsonl else read_glue_tsv(path, task)
    return loaded


def load_hub_split(task: TaskSpec, split: str) -> Examples:
    """One split of ``nyu-mll/glue`` from the Hugging Face Hub (network or local datasets cache)."""
    from datasets import load_dataset

    return hub_examples(load_dataset(HUB_DATASET, task.name, split=split), task, split)


def hub_examples(dataset: Iterable[dict], task: TaskSpec, split: str) -> Examples:
    """Examples from rows in the Hub's layout (e.g. a ``datasets.Dataset``); test splits' label -1 is an error."""
    return collect_examples(enumerate(dataset, start=1), hub_columns(task), task, f"{HUB_DATASET}/{task.name}[{split}]",
                            unit="row")


def tokenize_examples(examples: Examples, tokenizer: PreTrainedTokenizerBase, max_seq_len: int) -> list[dict]:
    """Token ids (truncated to ``max_seq_len``, unpadded) and the label of every example."""
    encoded = tokenizer(examples.text_a, examples.text_b, truncation=True, max_length=max_seq_len)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in encoded]
    return [{**{k: encoded[k][i] for k in keys}, "labels": label} for i, label in enumerate(examples.labels)]


def build_dataloader(features: list[dict], tokenizer: PreTrainedTokenizerBase, batch_size: int, *,
                     shuffle: bool, seed: int = 0, num_workers: int = 0, collate_fn=None) -> DataLoader:
    """Batches padded to their longest example (``collate_fn``, default transformers' dynamic padding), collated in
    ``num_workers`` processes or, with 0, in this one.

    The sampler is Composer's distributed one: each rank reads its own share (``composer -n N``), and the order of
    epoch k is a function of ``seed`` and k (the Trainer sets the epoch), so a resumed run sees the batches an
    uninterrupted one would. ``batch_size`` is per rank."""
    sampler = dist.get_sampler(features, shuffle=shuffle, drop_last=False, seed=seed)
    return DataLoader(features, batch_size=batch_size, sampler=sampler,
                      collate_fn=collate_fn or DataCollatorWithPadding(tokenizer, return_tensors="pt"),
                      num_workers=num_workers)
