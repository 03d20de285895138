"""Fine-tuning data: the eight GLUE tasks read from GLUE's own TSV files and from JSONL, validation errors, batches."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from mosaicbert.finetune.data import (
    Columns,
    DataFormatError,
    build_dataloader,
    hub_columns,
    hub_examples,
    load_task_data,
    parse_label,
    read_table,
    tokenize_examples,
)
from mosaicbert.finetune.glue_tasks import GLUE_TASKS, get_task
from mosaicbert.finetune.task import TaskSpec

FIXTURES = Path(__file__).parent / "fixtures" / "glue"


def _data_rows(path: Path, has_header: bool) -> list[list[str]]:
    rows = list(csv.reader(path.open(encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[1:] if has_header else rows


@pytest.fixture()
def glue_copy(tmp_path) -> Path:
    """A writable copy of the GLUE fixtures, to break."""
    return Path(shutil.copytree(FIXTURES, tmp_path / "glue"))


@pytest.mark.parametrize("name", list(GLUE_TASKS))
def test_every_task_reads_from_glue_tsv(name):
    task = get_task(name)
    splits = load_task_data(task, FIXTURES)
    assert list(splits) == list(task.splits)
    for split, examples in splits.items():
        rows = _data_rows(FIXTURES / task.glue_dir / task.tsv_files[split], task.tsv.has_header)
        assert len(examples) == len(rows) >= 12
        assert all(text.strip() for text in examples.text_a)
        assert (examples.text_b is None) == (task.text_b is None)
        if task.is_regression:
            assert all(isinstance(y, float) and 0.0 <= y <= 5.0 for y in examples.labels)
            assert len(set(examples.labels)) > 3
        else:
            assert set(examples.labels) <= set(range(task.num_labels))
            assert len(set(examples.labels)) > 1, f"{name}/{split} holds a single class"


def test_columns_and_labels_follow_the_glue_layouts():
    mnli = load_task_data(get_task("mnli"), FIXTURES)["validation_mismatched"]
    first = _data_rows(FIXTURES / "MNLI" / "dev_mismatched.tsv", True)[0]
    assert (mnli.text_a[0], mnli.text_b[0]) == (first[8], first[9])
    assert mnli.labels[0] == ("entailment", "neutral", "contradiction").index(first[-1])  # gold_label, not label1

    cola = load_task_data(get_task("cola"), FIXTURES)["train"]
    row = _data_rows(FIXTURES / "CoLA" / "train.tsv", False)[0]
    assert (cola.text_a[0], cola.labels[0]) == (row[3], int(row[1]))

    # Quoting is off in GLUE's files: MRPC's quotation marks are part of the sentences.
    mrpc = load_task_data(get_task("mrpc"), FIXTURES)
    quoted = [t for ex in mrpc.values() for t in ex.text_a + ex.text_b if '" the witness "' in t]
    assert quoted


def test_jsonl_in_hub_format_reads_like_the_tsv(tmp_path):
    task = get_task("rte")
    from_tsv = load_task_data(task, FIXTURES)
    folder = tmp_path / "rte"
    folder.mkdir()
    for split, ex in from_tsv.items():
        with open(folder / f"{split}.jsonl", "w") as handle:
            for i, (a, b, y) in enumerate(zip(ex.text_a, ex.text_b, ex.labels)):
                handle.write(json.dumps({"sentence1": a, "sentence2": b, "label": y, "idx": i}) + "\n")
    from_jsonl = load_task_data(task, tmp_path)
    for split in task.splits:
        assert from_jsonl[split].text_a == from_tsv[split].text_a
        assert from_jsonl[split].text_b == from_tsv[split].text_b
        assert from_jsonl[split].labels == from_tsv[split].labels


def _replace_in(path: Path, line_index: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert old in lines[line_index]
    lines[line_index] = lines[line_index].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")


def test_missing_file_names_the_file(glue_copy):
    (glue_copy / "RTE" / "dev.tsv").unlink()
    with pytest.raises(DataFormatError, match=r"rte: missing file .*RTE/dev\.tsv or .*validation\.jsonl"):
        load_task_data(get_task("rte"), glue_copy)
    shutil.rmtree(glue_copy / "QQP")
    with pytest.raises(DataFormatError, match=r"qqp: no folder .*QQP or .*qqp"):
        load_task_data(get_task("qqp"), glue_copy)


def test_bad_label_names_file_line_and_label(glue_copy):
    path = glue_copy / "RTE" / "train.tsv"
    _replace_in(path, 3, "entailment", "maybe")
    with pytest.raises(DataFormatError) as err:
        load_task_data(get_task("rte"), glue_copy)
    assert str(err.value) == f"{path} line 4: label 'maybe' is not one of entailment, not_entailment or 0..1"

    stsb = glue_copy / "STS-B" / "dev.tsv"
    lines = stsb.read_text().split("\n")
    lines[2] = lines[2].rsplit("\t", 1)[0] + "\t7.5"
    stsb.write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match=r"STS-B/dev\.tsv line 3: label '7\.5' is outside \[0\.0, 5\.0\]"):
        load_task_data(get_task("stsb"), glue_copy)


def test_wrong_column_and_wrong_field_count(glue_copy):
    qnli = glue_copy / "QNLI" / "train.tsv"
    _replace_in(qnli, 0, "question", "query")
    with pytest.raises(DataFormatError, match=r"QNLI/train\.tsv: missing column 'question' \(header has: index, query"):
        load_task_data(get_task("qnli"), glue_copy)

    sst2 = glue_copy / "SST-2" / "dev.tsv"
    _replace_in(sst2, 5, "\t", " ")
    with pytest.raises(DataFormatError, match=r"SST-2/dev\.tsv line 6: expected 2 fields, found 1"):
        load_task_data(get_task("sst2"), glue_copy)


def test_user_table_labels_by_name_or_id(tmp_path):
    task = TaskSpec("sentiment", "text", None, 2, ("negative", "positive"), ("accuracy",))
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\n"Great, really great.",positive\nDull.,0\n"Fine, I guess.",1\n')
    examples = read_table(path, Columns("text", "label"), task)
    assert examples.text_a == ["Great, really great.", "Dull.", "Fine, I guess."]
    assert examples.labels == [1, 0, 1]

    numeric = TaskSpec("stars", "text", None, 2, ("1", "5"), ("accuracy",))
    assert parse_label("5", numeric) == 1 and parse_label(5, numeric) == 1
    with pytest.raises(ValueError, match=r"label 0 is not one of 1, 5$"):
        parse_label(0, numeric)  # numeric class names: ids would be ambiguous


def test_batches_are_dynamically_padded(tokenizer):
    for name, label_dtype in (("mrpc", torch.long), ("stsb", torch.float32)):
        task = get_task(name)
        examples = load_task_data(task, FIXTURES)["train"]
        features = tokenize_examples(examples, tokenizer, max_seq_len=32)
        longest = max(len(f["input_ids"]) for f in features)
        assert longest == 32 if name == "mrpc" else longest < 32  # long MRPC pairs are truncated
        lengths = [len(f["input_ids"]) for f in features]
        batches = list(build_dataloader(features, tokenizer, batch_size=5, shuffle=False))
        for i, batch in enumerate(batches):
            chunk = lengths[5 * i: 5 * i + 5]
            assert batch["input_ids"].shape == (len(chunk), max(chunk))
            assert batch["attention_mask"].sum(dim=1).tolist() == chunk
            assert batch["labels"].dtype == label_dtype
        segments = batches[0]["token_type_ids"][0][: lengths[0]]
        assert segments[0] == 0 and segments[-1] == 1  # sentence pair: second segment present
    assert hub_columns(get_task("qnli")) == Columns("question", "label", "sentence")


def test_rows_in_the_hub_layout(tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    task = get_task("qnli")
    tsv = load_task_data(task, FIXTURES)["validation"]
    features = Features({"question": Value("string"), "sentence": Value("string"),
                         "label": ClassLabel(names=list(task.label_names)), "idx": Value("int32")})
    rows = {"question": tsv.text_a, "sentence": tsv.text_b, "label": tsv.labels, "idx": list(range(len(tsv)))}
    examples = hub_examples(Dataset.from_dict(rows, features=features), task, "validation")
    assert (examples.text_a, examples.text_b, examples.labels) == (tsv.text_a, tsv.text_b, tsv.labels)

    hidden = Dataset.from_dict({**rows, "label": [-1] * len(tsv)})  # test splits hide their labels
    with pytest.raises(DataFormatError, match=r"^nyu-mll/glue/qnli\[test\] row 1: label -1 is not one of"):
        hub_examples(hidden, task, "test")
