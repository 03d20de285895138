"""GLUE summary: a task's metrics averaged, then over seeds, then over tasks; written as Markdown, JSON and PNG.

Two averages: the standard one (every metric of a task counts, so STS-B is the mean of Pearson and Spearman)
and the one comparable with the original MosaicBERT paper, which scores STS-B by Spearman alone.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from mosaicbert.atomic_write import atomic_path, write_text_atomically
from mosaicbert.finetune.glue_job import JobResult
from mosaicbert.finetune.glue_tasks import GLUE_TASKS

AVERAGE_DEFINITIONS = {
    "glue_average": "mean over tasks of each task's score: the mean of all its metrics "
                    "(STS-B: Pearson and Spearman), then over seeds",
    "paper_average": "as glue_average, but STS-B scored by Spearman alone, as the original MosaicBERT paper reports it",
}


@dataclass
class TaskSummary:
    """One task over its seeds, in percent; ``score`` is None when no seed succeeded."""

    score: float | None = None  # mean of the task's metrics, then over seeds
    paper_score: float | None = None  # the same over the paper's metrics (STS-B: Spearman alone)
    metrics: dict[str, float] = field(default_factory=dict)  # each metric's mean over seeds
    seeds: dict[str, dict[str, float]] = field(default_factory=dict)
    failed_seeds: dict[str, str] = field(default_factory=dict)  # seed -> one-line error
    notes: list[str] = field(default_factory=list)


@dataclass
class GlueSummary:
    """Every task's summary and the two GLUE averages over the tasks that finished."""

    tasks: dict[str, TaskSummary]
    failed_tasks: dict[str, str]  # task -> the error of its first failed seed
    tasks_averaged: list[str]
    glue_average: float | None
    paper_average: float | None
    run_name: str = ""

    @property
    def failed(self) -> bool:
        """Some task or seed failed."""
        return bool(self.failed_tasks) or any(row.failed_seeds for row in self.tasks.values())

    def to_json(self) -> dict:
        """The summary as ``summary.json`` holds it, with what each average means."""
        return {**dataclasses.asdict(self), "average_definitions": AVERAGE_DEFINITIONS}


def _mean_over_seeds(per_seed: dict[str, dict[str, float]], keys: list[str]) -> float:
    return statistics.fmean(statistics.fmean(metrics[k] for k in keys) for metrics in per_seed.values())


def summarize(results: list[JobResult], task_order: list[str], run_name: str = "") -> GlueSummary:
    """Per-task mean metrics and scores (mean of the task's metrics, then over seeds) and the GLUE averages.

    Numbers are percentages. A task with no successful seed is listed under ``failed_tasks`` with its error
    and left out of the averages; seeds that failed next to successful ones are listed per task.
    """
    tasks, failed = {}, {}
    for task in task_order:
        runs = [r for r in results if r.task == task]
        good = [r for r in runs if r.ok]
        row = TaskSummary(failed_seeds={str(r.seed): r.error for r in runs if not r.ok},
                          notes=sorted({r.note for r in runs if r.note}))
        tasks[task] = row
        if not good:
            failed[task] = next(iter(row.failed_seeds.values()), "no job ran")
            continue
        keys = list(good[0].metrics)
        spec = GLUE_TASKS.get(task)
        paper_keys = spec.paper_metric_keys() if spec else keys
        row.seeds = {str(r.seed): {k: 100 * r.metrics[k] for k in keys} for r in good}
        row.metrics = {k: statistics.fmean(m[k] for m in row.seeds.values()) for k in keys}
        row.score = _mean_over_seeds(row.seeds, keys)
        row.paper_score = _mean_over_seeds(row.seeds, paper_keys)
    scored = [t for t in task_order if tasks[t].score is not None]
    return GlueSummary(
        tasks=tasks, failed_tasks=failed, tasks_averaged=scored,
        glue_average=statistics.fmean(tasks[t].score for t in scored) if scored else None,
        paper_average=statistics.fmean(tasks[t].paper_score for t in scored) if scored else None,
        run_name=run_name,
    )


def _display(task: str) -> str:
    spec = GLUE_TASKS.get(task)
    return spec.glue_dir if spec and spec.glue_dir else task


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def format_markdown(summary: GlueSummary, title: str = "GLUE results") -> str:
    """A Markdown table: one row per task, then both averages over the tasks that finished, each saying what it is."""
    lines = [f"## {title}", "", "| task | metrics | score | seeds |", "|---|---|---:|---|"]
    for task, row in summary.tasks.items():
        n_ok, n_failed = len(row.seeds), len(row.failed_seeds)
        seeds = f"{n_ok}" if not n_failed else f"{n_ok} ok, {n_failed} failed"
        if row.score is None:
            lines.append(f"| {_display(task)} | FAILED: {_cell(summary.failed_tasks[task])} | – | {seeds} |")
            continue
        metrics = ", ".join(f"{k} {v:.2f}" for k, v in row.metrics.items())
        extra = "".join(f"<br>{_cell(n)}" for n in row.notes)
        extra += "".join(f"<br>seed {s} failed: {_cell(e)}" for s, e in row.failed_seeds.items())
        lines.append(f"| {_display(task)} | {metrics}{extra} | {row.score:.2f} | {seeds} |")
    n, total = len(summary.tasks_averaged), len(summary.tasks)
    scope = f"{n} tasks" if n == total else f"{n} of {total} tasks"
    lines.append(f"| **average** | over {scope}; a task scores the mean of its metrics (STS-B: Pearson and "
                 f"Spearman) | **{_number(summary.glue_average)}** | |")
    lines.append(f"| **paper-comparable average** | over {scope}; STS-B scores Spearman alone, as the original "
                 f"MosaicBERT paper reports it | **{_number(summary.paper_average)}** | |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plot_summary(summary: GlueSummary, path: Path, title: str = "GLUE results") -> None:
    """Horizontal bars of task scores and both averages; failed tasks are marked as such."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [_display(t) for t in summary.tasks] + ["average", "average (paper)"]
    scores = [row.score for row in summary.tasks.values()] + [summary.glue_average, summary.paper_average]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2))
    positions = range(len(names))[::-1]
    for y, name, score in zip(positions, names, scores):
        if score is None:
            ax.text(1, y, "failed", va="center", color="tab:red")
            continue
        color = "tab:gray" if name.startswith("average") else "tab:blue"
        ax.barh(y, score, color=color)
        ax.text(max(score, 0) + 1, y, f"{score:.1f}", va="center")
    ax.set_yticks(list(positions), names)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(min([0.0] + [s - 5 for s in scores if s is not None]), 110)  # Matthews/correlations can be < 0
    ax.set_xlabel("score (mean of the task's metrics, over seeds)")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def write_summary(summary: GlueSummary, out_dir: Path, title: str = "GLUE results") -> dict[str, Path]:
    """Write ``summary.md``, ``summary.json`` and ``summary.png`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "summary.md", "json": out_dir / "summary.json", "chart": out_dir / "summary.png"}
    for key, text in (("markdown", format_markdown(summary, title)), ("json", json.dumps(summary.to_json(), indent=2))):
        write_text_atomically(paths[key], text)
    plot_summary(summary, paths["chart"], title)
    return paths
