"""GLUE summary: a task's metrics averaged, then over seeds, then over tasks; written as Markdown, JSON and PNG."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

from mosaicbert.glue.results import JobResult
from mosaicbert.glue.tasks import GLUE_TASKS


def summarize(results: list[JobResult], task_order: list[str]) -> dict:
    """Per-task mean metrics and score (mean of the task's metrics, then over seeds) and the GLUE average.

    Numbers are percentages. A task with no successful seed is listed under ``failed_tasks`` with its error
    and left out of the average; seeds that failed next to successful ones are listed per task.
    """
    tasks, failed = {}, {}
    for task in task_order:
        runs = [r for r in results if r.task == task]
        good = [r for r in runs if r.ok]
        errors = {str(r.seed): r.error for r in runs if not r.ok}
        notes = sorted({r.note for r in runs if r.note})
        if not good:
            failed[task] = next(iter(errors.values()), "no job ran")
            tasks[task] = {"score": None, "metrics": {}, "seeds": {}, "failed_seeds": errors, "notes": notes}
            continue
        keys = list(good[0].metrics)
        per_seed = {str(r.seed): {k: 100 * r.metrics[k] for k in keys} for r in good}
        tasks[task] = {
            "score": statistics.fmean(statistics.fmean(m.values()) for m in per_seed.values()),
            "metrics": {k: statistics.fmean(m[k] for m in per_seed.values()) for k in keys},
            "seeds": per_seed,
            "failed_seeds": errors,
            "notes": notes,
        }
    scored = [t for t in task_order if tasks[t]["score"] is not None]
    average = statistics.fmean(tasks[t]["score"] for t in scored) if scored else None
    return {"glue_average": average, "tasks_averaged": scored, "failed_tasks": failed, "tasks": tasks}


def _display(task: str) -> str:
    spec = GLUE_TASKS.get(task)
    return spec.glue_dir if spec and spec.glue_dir else task


def format_markdown(summary: dict, title: str = "GLUE results") -> str:
    """A Markdown table: one row per task, then the average over the tasks that finished."""
    lines = [f"## {title}", "", "| task | metrics | score | seeds |", "|---|---|---:|---|"]
    for task, row in summary["tasks"].items():
        n_ok, n_failed = len(row["seeds"]), len(row["failed_seeds"])
        seeds = f"{n_ok}" if not n_failed else f"{n_ok} ok, {n_failed} failed"
        if row["score"] is None:
            lines.append(f"| {_display(task)} | FAILED: {_cell(summary['failed_tasks'][task])} | – | {seeds} |")
            continue
        metrics = ", ".join(f"{k} {v:.2f}" for k, v in row["metrics"].items())
        extra = "".join(f"<br>{_cell(n)}" for n in row["notes"])
        extra += "".join(f"<br>seed {s} failed: {_cell(e)}" for s, e in row["failed_seeds"].items())
        lines.append(f"| {_display(task)} | {metrics}{extra} | {row['score']:.2f} | {seeds} |")
    n, total = len(summary["tasks_averaged"]), len(summary["tasks"])
    average = "–" if summary["glue_average"] is None else f"{summary['glue_average']:.2f}"
    scope = f"{n} tasks" if n == total else f"{n} of {total} tasks"
    lines.append(f"| **average** | over {scope} | **{average}** | |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plot_summary(summary: dict, path: Path, title: str = "GLUE results") -> None:
    """Horizontal bars of task scores and the average; failed tasks are marked as such."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [_display(t) for t in summary["tasks"]] + ["average"]
    scores = [row["score"] for row in summary["tasks"].values()] + [summary["glue_average"]]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2))
    positions = range(len(names))[::-1]
    for y, name, score in zip(positions, names, scores):
        if score is None:
            ax.text(1, y, "failed", va="center", color="tab:red")
            continue
        color = "tab:gray" if name == "average" else "tab:blue"
        ax.barh(y, score, color=color)
        ax.text(max(score, 0) + 1, y, f"{score:.1f}", va="center")
    ax.set_yticks(list(positions), names)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(min([0.0] + [s - 5 for s in scores if s is not None]), 110)  # Matthews/correlations can be < 0
    ax.set_xlabel("score (mean of the task's metrics, over seeds)")
    ax.set_title(title)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def write_summary(summary: dict, out_dir: Path, title: str = "GLUE results") -> dict[str, Path]:
    """Write ``summary.md``, ``summary.json`` and ``summary.png`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "summary.md", "json": out_dir / "summary.json", "chart": out_dir / "summary.png"}
    for key, text in (("markdown", format_markdown(summary, title)), ("json", json.dumps(summary, indent=2))):
        tmp = paths[key].with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, paths[key])
    plot_summary(summary, paths["chart"], title)
    return paths
