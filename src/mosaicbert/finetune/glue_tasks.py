"""The eight GLUE tasks of the MosaicBERT recipe (WNLI excluded): columns, labels, files and metrics."""

from __future__ import annotations

from mosaicbert.finetune.task import TaskSpec, TsvLayout

ENTAILMENT_2 = ("entailment", "not_entailment")

GLUE_TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("mnli", "premise", "hypothesis", 3, ("entailment", "neutral", "contradiction"), ("accuracy",),
                 eval_splits={"matched": "validation_matched", "mismatched": "validation_mismatched"},
                 glue_dir="MNLI", tsv=TsvLayout("sentence1", "gold_label", "sentence2"),
                 tsv_files={"train": "train.tsv", "validation_matched": "dev_matched.tsv",
                            "validation_mismatched": "dev_mismatched.tsv"}),
        TaskSpec("qnli", "question", "sentence", 2, ENTAILMENT_2, ("accuracy",),
                 glue_dir="QNLI", tsv=TsvLayout("question", "label", "sentence")),
        TaskSpec("qqp", "question1", "question2", 2, ("not_duplicate", "duplicate"), ("accuracy", "f1"),
                 glue_dir="QQP", tsv=TsvLayout("question1", "is_duplicate", "question2")),
        TaskSpec("sst2", "sentence", None, 2, ("negative", "positive"), ("accuracy",),
                 glue_dir="SST-2", tsv=TsvLayout("sentence", "label")),
        TaskSpec("cola", "sentence", None, 2, ("unacceptable", "acceptable"), ("matthews",),
                 glue_dir="CoLA", tsv=TsvLayout(3, 1, has_header=False)),
        TaskSpec("mrpc", "sentence1", "sentence2", 2, ("not_equivalent", "equivalent"), ("accuracy", "f1"),
                 glue_dir="MRPC", tsv=TsvLayout("#1 String", "Quality", "#2 String")),
        TaskSpec("rte", "sentence1", "sentence2", 2, ENTAILMENT_2, ("accuracy",),
                 glue_dir="RTE", tsv=TsvLayout("sentence1", "label", "sentence2")),
        TaskSpec("stsb", "sentence1", "sentence2", 1, (), ("pearson", "spearman"),
                 glue_dir="STS-B", tsv=TsvLayout("sentence1", "score", "sentence2"), label_range=(0.0, 5.0),
                 paper_metrics=("spearman",)),
    )
}


def get_task(name: str) -> TaskSpec:
    """Look up a GLUE task by its Hub config name (``mnli``, ``sst2``, ``stsb``, ...)."""
    try:
        return GLUE_TASKS[name]
    except KeyError:
        raise KeyError(f"unknown GLUE task {name!r}; known tasks: {', '.join(GLUE_TASKS)}") from None
