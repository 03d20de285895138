"""GLUE summary: metrics averaged within a task, then over seeds, then over tasks; Markdown, JSON and PNG."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from mosaicbert.glue.results import JobResult
from mosaicbert.glue.summary import format_markdown, summarize, write_summary


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
    assert summary["tasks"]["mnli"]["score"] == pytest.approx(81.0)
    assert summary["tasks"]["mrpc"]["metrics"] == pytest.approx({"accuracy": 65.0, "f1": 75.0})
    assert summary["tasks"]["mrpc"]["score"] == pytest.approx((75.0 + 65.0) / 2)
    assert summary["tasks"]["mrpc"]["failed_seeds"] == {"717": "worker process died (killed or out of memory?)"}
    assert summary["tasks"]["cola"]["score"] == pytest.approx(-10.0)
    assert summary["failed_tasks"] == {"rte": _results()[-1].error}
    assert summary["tasks_averaged"] == ["mnli", "mrpc", "cola"]
    assert summary["glue_average"] == pytest.approx((81.0 + 70.0 - 10.0) / 3)


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
    assert "| **average** | over 3 of 4 tasks | **47.00** | |" in table
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(summary))
    with Image.open(paths["chart"]) as chart:
        assert chart.format == "PNG" and chart.width > 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "summary.md", "summary.png"]
