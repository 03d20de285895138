"""``studies/long_context.py`` end to end at test size on the real corpora (news + State of the Union addresses):
phase 1, phase 2 from its checkpoint, the same masked tokens at every length, BERT stopped at its table, the
report; started again it trains nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mosaicbert.study.cli import study_main
from mosaicbert.study.long_context.config import LongContextStudyConfig
from mosaicbert.study.long_context.run import run_study

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    """What ``studies/long_context.py`` runs."""
    return study_main(argv, "", "studies/long_context.py", LongContextStudyConfig, run_study, "")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    work = tmp_path_factory.mktemp("long-context")
    argv = [str(REPO / "yamls/test/long-context-tiny.yaml"), f"work_dir={work}", f"out={work / 'report'}"]
    assert main(argv) == 0
    return work, argv


def test_phases_scores_and_report(study):
    work, _ = study
    results = json.loads((work / "report.json").read_text())
    runs = {r["arm"]: r for r in results["runs"]}
    assert list(runs) == ["mosaic_bert", "hf_bert", "mosaic_bert_128", "mosaic_bert_128_cross_document"]
    assert runs["mosaic_bert_128"]["start"] == "mosaic_bert" and runs["mosaic_bert_128"]["seq_len"] == 128
    masked = results["evaluation"]["masked_tokens"]
    for arm in ("mosaic_bert", "mosaic_bert_128", "mosaic_bert_128_cross_document"):
        assert sorted(runs[arm]["by_length"]) == ["128", "32", "64"]
        assert {s["masked_tokens"] for s in runs[arm]["by_length"].values()} == {masked}
    assert results["unigram"]["masked_tokens"] == masked and results["unigram"]["cross_entropy"] > 0
    assert sorted(runs["hf_bert"]["by_length"]) == ["32", "64"]
    assert runs["hf_bert"]["skipped"] == {"128": "longer than the 64-position table"}
    # phase 2 started from phase 1's weights and trained on: both extensions differ from phase 1 (whether the two
    # packings differ depends on a row crossing a document in the few steps a 2 s budget buys: not asserted)
    ce = {arm: runs[arm]["by_length"]["128"]["cross_entropy"] for arm in runs if "128" in runs[arm]["by_length"]}
    assert ce["mosaic_bert"] not in (ce["mosaic_bert_128"], ce["mosaic_bert_128_cross_document"])
    assert results["evaluation"]["documents"] == 2 and results["evaluation"]["tokens_per_document"] == 126
    report = (work / "report.md").read_text()
    assert "Packing with document boundaries" not in report  # its arms are not in this config
    assert "| `hf_bert` | 1 | 32 |" in report and (work / "report.png").stat().st_size > 0


def test_second_start_trains_nothing(study, capsys):
    work, argv = study
    before = {p: p.stat().st_mtime_ns for p in work.glob("seed17/*/checkpoints/*.pt")}
    assert main(argv) == 0
    assert "calibrating" not in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in work.glob("seed17/*/checkpoints/*.pt")} == before


def test_an_unknown_start_arm_is_one_config_line(tmp_path, capsys):
    code = main([str(REPO / "yamls/test/long-context-tiny.yaml"), f"work_dir={tmp_path}",
                              "second_phase.mosaic_bert_128.start=bert"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: config key 'second_phase.mosaic_bert_128.start': unknown first-phase arm 'bert'; "
        "choose from: mosaic_bert, hf_bert"]
