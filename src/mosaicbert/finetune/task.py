"""A sequence (pair) classification or regression task: its text columns, labels, metrics and (for GLUE) files."""

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
    ``paper_metrics``: the metrics the original MosaicBERT paper puts in its GLUE average, when they differ
    from ``metrics`` (STS-B: Spearman alone).
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
    paper_metrics: tuple[str, ...] | None = None

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

    def metric_keys(self, metrics: tuple[str, ...] | None = None) -> list[str]:
        """Names of all reported numbers (or of those of ``metrics`` only), in order."""
        metrics = metrics or self.metrics
        return [self.metric_key(eval_name, metric) for eval_name in self.eval_splits for metric in metrics]

    def paper_metric_keys(self) -> list[str]:
        """Names of the numbers the original MosaicBERT paper averages for this task."""
        return self.metric_keys(self.paper_metrics)
