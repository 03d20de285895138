"""The domain study, start to end: data and vocabulary, calibration, then per seed and arm: pretrain, nats per
masked word on held-out domain and general text, fine-tune on the domain task; report.

Every finished stage is a JSON file under ``work_dir``, so a stopped study started again with the same command
goes on where it stopped (a run stopped mid-training starts again). A changed config with the same ``work_dir``
is refused rather than mixed (arms, seeds and the budget may change: results are kept per arm and seed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Callable

from composer.utils import dist, get_device

from mosaicbert.config.loading import ConfigError
from mosaicbert.measurement.machine import machine_info

from ..budget import BUDGET_TOLERANCE, budget_check, calibrated, replanned_steps, steps_for_budget, timed_run
from ..stages import save_record, stage
from .arms import arm_config
from .config import VOCABULARIES, DomainStudyConfig
from .data import heldout_texts, prepare_data, tokenizer_name
from .report import write_outputs

RANK_WAIT_S = 3600.0


def fingerprint(study: DomainStudyConfig) -> str:
    keys = dataclasses.asdict(study)
    for free in ("out", "run_arms", "claims", "work_dir", "run_overhead_s", "budget_s", "seeds", "plan_only"):
        keys.pop(free)
    keys["downstream"].pop("seeds")
    return hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).hexdigest()[:16]


def heldout_passages_by_corpus(study: DomainStudyConfig) -> dict:
    """The held-out passages of each corpus with their masked words, fitting every vocabulary; and what each
    vocabulary makes of them (pieces per word: fertility)."""
    from mosaicbert.evaluation.masked_words import heldout_passages
    from mosaicbert.tokenization.fertility import fertility
    from mosaicbert.tokenizer import load_tokenizer

    tokenizers = {v: load_tokenizer(tokenizer_name(study, v)) for v in VOCABULARIES}
    h = study.held_out
    passages, summary = {}, {}
    for corpus, texts in heldout_texts(study).items():
        kept = heldout_passages(texts, list(tokenizers.values()), study.seq_len, rate=h.rate, seed=study.seed,
                                words_per_passage=h.words_per_passage, max_words=h.words)
        passages[corpus] = kept
        summary[corpus] = {
            "texts": len(texts), "passages": len(kept), "words": sum(len(p.words) for p in kept),
            "masked_words": sum(len(p.masked) for p in kept),
            "pieces_per_word": {v: fertility(t, [p.text for p in kept]).per_word for v, t in tokenizers.items()}}
    return passages, summary


def vocabulary_sizes(study: DomainStudyConfig) -> dict[str, int]:
    from mosaicbert.tokenizer import load_tokenizer

    return {v: len(load_tokenizer(tokenizer_name(study, v))) for v in VOCABULARIES}


def run_study(study: DomainStudyConfig, command: str, echo=print,
              clock: Callable[[], float] = time.perf_counter) -> dict:
    """Run (or continue) the study and write its outputs; return the results."""
    dist.initialize_dist(get_device(None), timeout=RANK_WAIT_S)
    work = Path(study.work_dir)
    stamp = work / "study.json"
    fp = fingerprint(study)
    saved = json.loads(stamp.read_text()) if stamp.is_file() else {}
    if saved and saved["fingerprint"] != fp:
        raise ConfigError(f"work_dir '{work}' holds results of a different study config; "
                          "give a new work_dir=... (or delete it)")
    first_started = saved.get("first_started", stamp.stat().st_mtime if saved else time.time())
    save_record(stamp, {"fingerprint": fp, "config": dataclasses.asdict(study), "first_started": first_started})
    start = time.perf_counter()
    arms, seeds = study.selected_arms, list(study.seeds)
    echo(f"domain study: {len(arms)} arms x {len(seeds)} seeds at {study.budget_s:.0f} s each "
         f"(pretraining {len(arms) * len(seeds) * study.budget_s / 60:.0f} min), work dir {work}")
    prepare_data(study, echo)
    measured = list(dict.fromkeys(study.calibrated_as(a) for a in arms))
    calibration = calibrated(
        work / "calibration.json", measured,
        # before the switch every arm trains on the same mixture; a switch at 0.9 of a million-batch calibration
        # run would make Streaming lay out a 14M-sample first epoch for each turn
        lambda a: arm_config(study, a, seed=seeds[0], run_name=f"calibrate-{a}", max_duration="1000000ba",
                             **{"algorithms.domain_upsampling": False}),
        study.calibration_rounds, study.calibration_steps, save_record, echo)
    calibration = {arm: calibration[study.calibrated_as(arm)] for arm in arms}
    plan = [(seed, arm, steps_for_budget(study.budget_s, calibration[arm]["seconds_per_step"],
                                         calibration[arm].get("startup_s", 0.0))) for seed in seeds for arm in arms]
    echo("plan: " + "; ".join(f"{a} seed {s}: {n} steps" for s, a, n in plan))
    if study.plan_only:
        return {"plan": [{"seed": s, "arm": a, "steps": n} for s, a, n in plan], "calibration": calibration}

    from ..downstream import downstream_accuracies, task_files
    from ..evaluation import arm_masked_words

    passages, heldout = heldout_passages_by_corpus(study)
    for corpus, about in heldout.items():
        echo(f"held-out {corpus}: {about['masked_words']} masked words in {about['passages']} passages; pieces per "
             "word " + ", ".join(f"{v} {x:.3f}" for v, x in about["pieces_per_word"].items()))
    task_files(study)

    runs = []
    for index, (seed, arm, planned) in enumerate(plan):
        # re-planned from earlier seeds only: the arms calibrated as one keep equal steps within a seed
        same_steps = [r for r in runs if study.calibrated_as(r["arm"]) == study.calibrated_as(arm)
                      and r["seed"] != seed]
        replan = replanned_steps(study.budget_s, planned, calibration[arm], same_steps)
        steps = replan["steps"]
        run_dir = work / "runs" / arm / f"seed{seed}"
        name = f"{arm}-seed{seed}"
        cfg = arm_config(study, arm, seed=seed, run_name=name, max_duration=f"{steps}ba", run_dir=run_dir)

        if replan["replanned_from"] is not None:
            echo(f"    {arm} missed its budget by more than {100 * BUDGET_TOLERANCE:.0f}%: re-planned "
                 f"{planned} -> {steps} steps from its measured speed")
        echo(f"[{index + 1}/{len(plan)}] {name}: pretraining {steps} steps ...")
        pre = stage(run_dir / "pretrain.json", lambda: timed_run(cfg, name, steps, clock))
        check = budget_check(pre["wall_s"], study.budget_s)
        checkpoint = str(run_dir / "checkpoints" / "latest-rank0.pt")
        words = {corpus: stage(run_dir / f"words-{corpus}.json", lambda corpus=corpus: arm_masked_words(
                     cfg, checkpoint, passages[corpus], study.held_out.batch_size, study.seed))
                 for corpus in passages}
        accs = downstream_accuracies(study, cfg, checkpoint, run_dir)
        runs.append({"arm": arm, "seed": seed, "whole_word": cfg.masking.whole_word,
                     "domain_upsampling": (cfg.algorithms or {}).get("domain_upsampling") or None,
                     "budget_s": study.budget_s, "steps": pre["steps"], "planned_steps": planned,
                     "replanned_from": replan["replanned_from"], "pretrain": pre, "budget": check, "words": words,
                     "downstream": {"seeds": list(study.downstream.seeds), "accuracies": accs}})
        echo(f"    wall {pre['wall_s']:.0f} s; nats per masked word: domain {words['domain']['nats_per_word']:.3f}, "
             f"general {words['general']['nats_per_word']:.3f}; downstream {100 * sum(accs) / len(accs):.1f}%; "
             f"elapsed {(time.perf_counter() - start) / 60:.1f} min")

    results = {"command": command, "out": study.out, "study": dataclasses.asdict(study), "machine": machine_info(),
               "arms": arms, "seeds": seeds, "budget_s": study.budget_s, "held_out": heldout,
               "vocabulary_sizes": vocabulary_sizes(study), "calibration": calibration, "runs": runs,
               "total_wall_s": time.perf_counter() - start, "since_first_start_s": time.time() - first_started}
    if dist.get_global_rank() == 0:
        for path in write_outputs(results):
            echo(f"wrote {path}")
    return results
