"""A study's claims live in its YAML next to its arms: checked at load time, and the report speaks to those claims."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.study.long_context import report as long_context_report
from mosaicbert.study.long_context.config import LongContextStudyConfig
from mosaicbert.study.quality import report as quality_report
from mosaicbert.study.quality.config import StudyConfig

REPO = Path(__file__).resolve().parents[1]
QUALITY = REPO / "yamls" / "study" / "quality-cpu.yaml"
LONG_CONTEXT = REPO / "yamls" / "study" / "long-context-cpu.yaml"


def _renamed(results: dict, old: str, new: str) -> dict:
    """``results`` (a real study's record) with arm ``old`` called ``new`` in its runs, arms and claims."""
    results = copy.deepcopy(results)
    for run in results["runs"]:
        run["arm"] = new if run["arm"] == old else run["arm"]
    if "arms" in results:
        results["arms"] = [new if arm == old else arm for arm in results["arms"]]
    for claim in results["study"]["claims"]:
        for key in ("arm", "baseline"):
            claim[key] = new if claim[key] == old else claim[key]
    return results


def test_the_quality_yamls_declare_the_same_claims_over_their_arms():
    cpu = load_config(QUALITY, [], StudyConfig)
    assert load_config(REPO / "yamls" / "study" / "quality-gpu-base.yaml", [], StudyConfig).claims == cpu.claims
    assert {c.arm for c in cpu.claims} | {c.baseline for c in cpu.claims} <= set(cpu.arms)


@pytest.mark.parametrize("override, message", [
    ("claims=[{claim: GLU, arm: mosaic_bert, baseline: hf_brt}]",
     "config key 'claims[0].baseline': unknown arm 'hf_brt' (did you mean 'hf_bert'?); the study's arms: hf_bert, "),
    ("claims=[{claim: GLU, arm: mosaic_bert}]",
     "config key 'claims[0].baseline': the claim 'GLU' compares 'mosaic_bert' with another arm; name it"),
])
def test_a_quality_claim_must_compare_two_of_its_arms(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(QUALITY, [override], StudyConfig)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_long_context_claim_names_an_arm_of_either_phase():
    load_config(LONG_CONTEXT, ["claims=[{claim: alone, arm: hf_bert_512}]"], LongContextStudyConfig)
    with pytest.raises(ConfigError, match=r"^config key 'claims\[0\].arm': unknown arm 'mosaic_bert_2048'"):
        load_config(LONG_CONTEXT, ["claims=[{claim: longer, arm: mosaic_bert_2048}]"], LongContextStudyConfig)


def test_a_bad_claim_on_the_command_line_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, str(REPO / "studies" / "quality.py"), str(QUALITY),
                           "claims=[{claim: x, arm: mosaic, baseline: hf_bert}]"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: config key 'claims[0].arm': unknown arm 'mosaic' (did you mean 'mosaic_bert'?); the study's arms: "
        "hf_bert, mosaic_bert, mosaic_bert_30_15, mosaic_bert_mlp, mosaic_bert_15, modernbert"]


@pytest.mark.parametrize("name, yaml, config_class", [("quality", QUALITY, StudyConfig),
                                                       ("long-context", LONG_CONTEXT, LongContextStudyConfig)])
def test_the_committed_records_hold_their_yamls_claims_and_render_the_committed_reports(name, yaml, config_class):
    results = json.loads((REPO / "docs" / "benchmarks" / f"{name}.json").read_text())
    declared = [{"claim": c.claim, "arm": c.arm, "baseline": c.baseline}
                for c in load_config(yaml, [], config_class).claims]
    assert declared and results["study"]["claims"] == declared
    report = quality_report if name == "quality" else long_context_report
    assert report.markdown(results) + "\n" == (REPO / "docs" / "benchmarks" / f"{name}.md").read_text()


def test_the_quality_report_speaks_to_the_claims_of_its_record():
    results = json.loads((REPO / "docs" / "benchmarks" / "quality.json").read_text())
    lines = quality_report.claim_lines(results)
    assert any(line.startswith("- **MosaicBERT as published vs BERT (the Pareto claim)** (`mosaic_bert` − `hf_bert`)")
               for line in lines)
    renamed = _renamed(results, "hf_bert", "bert_baseline")
    assert any("(`mosaic_bert` − `bert_baseline`): downstream better" in line
               for line in quality_report.claim_lines(renamed))
    renamed["study"]["claims"] = [{"claim": "Only this", "arm": "modernbert", "baseline": "bert_baseline"}]
    claims = [line for line in quality_report.claim_lines(renamed) if line.startswith("- **") and "`" in line
              and "Context past" not in line and "ALiBi extrapolation" not in line]
    assert len(claims) == 1 and claims[0].startswith("- **Only this** (`modernbert` − `bert_baseline`)")


def test_the_long_context_report_speaks_to_the_claims_of_its_record():
    results = json.loads((REPO / "docs" / "benchmarks" / "long-context.json").read_text())
    renamed = _renamed(results, "mosaic_bert_128", "short_control")
    lines = long_context_report.claim_lines(renamed)
    assert any(line.startswith("- **Context extension to 1,024 vs the same time spent at 128** "
                               "(`mosaic_bert_1024` − `short_control`, CE)") for line in lines)
    renamed["study"]["claims"] = [{"claim": "Alone", "arm": "short_control", "baseline": None}]
    assert [line.split(" (")[0] for line in long_context_report.claim_lines(renamed)] == ["- **Alone**"]
