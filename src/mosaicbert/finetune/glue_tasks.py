"""The eight GLUE tasks of the MosaicBERT recipe (WNLI excluded): columns, labels, files and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TsvLayout:
    """Where a task's columns sit in GLUE's own TSV files (tab-separated, UTF-8, quoting off).

    Columns are header names, or 0-based indices for headerless files (CoLA).
    """

    text_a: str | int
    label: str | int
    text_b: str | int | None = None
    has_header: bool = True


@dataclass(frozen=True)
class TaskSpec:
    """One sequence(-pair) classification or regression task.

    ``label_names`` is empty for regression (``num_labels == 1``); labels may be given either as names
    or as their integer ids. ``eval_splits`` maps an evaluation name (used in metric keys) to a split.
    """

    name: str
    text_a: str
    text_b: str | None
    num_labels: int
    label_names: tuple[str, ...]
    metrics: tuple[str, ...]
    eval_splits: dict[str, str] = field(default_factory=lambda: {"validation": "validation"})
    glue_dir: str | None = None
    tsv: TsvLayout | None = None
    tsv_files: dict[str, str] = field(default_factory=lambda: {"train": "train.tsv", "validation": "dev.tsv"})
    label_range: tuple[float, float] | None = None

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1

    @property
    def splits(self) -> tuple[str, ...]:
        """The training split followed by the evaluation splits."""
        return ("train", *self.eval_splits.values())

    def metric_key(self, eval_name: str, metric: str) -> str:
        """Name of a reported number: ``accuracy``, or ``matched_accuracy`` when there are several eval splits."""
        return metric if len(self.eval_splits) == 1 else f"{eval_name}_{metric}"

    def metric_keys(self) -> list[str]:
        """Names of all reported numbers, in order."""
        return [self.metric_key(eval_name, metric) for eval_name in self.eval_splits for metric in self.metrics]


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
                 glue_dir="STS-B", tsv=TsvLayout("sentence1", "score", "sentence2"), label_range=(0.0, 5.0)),
    )
}


def get_task(name: str) -> TaskSpec:
    """Look up a GLUE task by its Hub config name (``mnli``, ``sst2``, ``stsb``, ...)."""
    try:
        return GLUE_TASKS[name]
    except KeyError:
        raise KeyError(f"unknown GLUE task {name!r}; known tasks: {', '.join(GLUE_TASKS)}") from None
