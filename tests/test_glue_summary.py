"""GLUE summary: metrics averaged within a task, then over seeds, then over tasks; Markdown, JSON and PNG."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from mosaicbert.finetune.glue_job import JobResult
from mosaicbert.finetune.glue_summary import format_markdown, summarize, write_summary


def _results() -> list[JobResult]:
    return [
        JobResult("mnli", 19, {"matched_accuracy": 0.80, "mismatched_accuracy": 0.82}),
        JobResult("mrpc", 19, {"accuracy": 0.70, "f1": 0.80}, note="started from the MNLI checkpoint (mnli-seed19)"),
        JobResult("mrpc", 8364, {"accuracy": 0.60, "f1": 0.70}),
        JobResult("mrpc", 717, error="worker process died (killed or out of memory?)"),
        JobResult("cola", 19, {"matthews": -0.10}),
        JobResult("rte", 19, error="/data/RTE/train.tsv line 4: label 'maybe' is not one of entailment, not_entailment"),
    ]


def test_averages_within_task_then_seeds_then_tasks():
    summary = summarize(_results(), ["mnli", "mrpc", "cola", "rte"])
    assert summary.tasks["mnli"].score == pytest.approx(81.0)
    assert summary.tasks["mrpc"].metrics == pytest.approx({"accuracy": 65.0, "f1": 75.0})
    assert summary.tasks["mrpc"].score == pytest.approx((75.0 + 65.0) / 2)
    assert summary.tasks["mrpc"].failed_seeds == {"717": "worker process died (killed or out of memory?)"}
    assert summary.tasks["cola"].score == pytest.approx(-10.0)
    assert summary.failed_tasks == {"rte": _results()[-1].error}
    assert summary.tasks_averaged == ["mnli", "mrpc", "cola"]
    assert summary.glue_average == pytest.approx((81.0 + 70.0 - 10.0) / 3)
    assert summary.paper_average == summary.glue_average  # no STS-B: both conventions agree
    assert summary.failed


def test_paper_average_scores_stsb_by_spearman_alone():
    results = [JobResult("stsb", seed, {"pearson": pearson, "spearman": spearman})
               for seed, pearson, spearman in ((19, 0.80, 0.70), (8364, 0.90, 0.60))]
    results.append(JobResult("rte", 19, {"accuracy": 0.60}))
    summary = summarize(results, ["stsb", "rte"])
    stsb = summary.tasks["stsb"]
    assert stsb.score == pytest.approx((75.0 + 75.0) / 2)  # Pearson and Spearman averaged, then seeds
    assert stsb.paper_score == pytest.approx((70.0 + 60.0) / 2)  # Spearman alone
    assert summary.tasks["rte"].paper_score == summary.tasks["rte"].score == pytest.approx(60.0)
    assert summary.glue_average == pytest.approx((75.0 + 60.0) / 2)
    assert summary.paper_average == pytest.approx((65.0 + 60.0) / 2)
    assert not summary.failed
    table = format_markdown(summary)
    assert "| **average** | over 2 tasks; a task scores the mean of its metrics (STS-B: Pearson and Spearman) " \
           "| **67.50** | |" in table
    assert "| **paper-comparable average** | over 2 tasks; STS-B scores Spearman alone, as the original MosaicBERT " \
           "paper reports it | **62.50** | |" in table
    saved = summary.to_json()
    assert (saved["glue_average"], saved["paper_average"]) == (summary.glue_average, summary.paper_average)
    assert "Spearman alone" in saved["average_definitions"]["paper_average"]


def test_markdown_json_and_chart(tmp_path):
    summary = summarize(_results(), ["mnli", "mrpc", "cola", "rte"])
    paths = write_summary(summary, tmp_path, title="GLUE: unit")
    table = paths["markdown"].read_text()
    assert table == format_markdown(summary, "GLUE: unit")
    assert "| MNLI | matched_accuracy 80.00, mismatched_accuracy 82.00 | 81.00 | 1 |" in table
    assert "| MRPC | accuracy 65.00, f1 75.00<br>started from the MNLI checkpoint (mnli-seed19)<br>seed 717 failed: " \
           "worker process died (killed or out of memory?) | 70.00 | 2 ok, 1 failed |" in table
    assert "| RTE | FAILED: /data/RTE/train.tsv line 4: label 'maybe' is not one of entailment, not_entailment | – |" \
           in table
    assert "| **average** | over 3 of 4 tasks; a task scores the mean of its metrics (STS-B: Pearson and Spearman) " \
           "| **47.00** | |" in table
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(summary.to_json()))
    with Image.open(paths["chart"]) as chart:
        assert chart.format == "PNG" and chart.width > 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "summary.md", "summary.png"]
