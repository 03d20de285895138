"""amp_bf16 pretraining of a small MosaicBERT on the bundled news through ``main.py``: the loss falls and stays
finite, and a run SIGKILLed right after its checkpoint at ``kill_at`` and restarted with the same command
(autoresume) ends with the uninterrupted run's weights (bit-identical, or within the profile's tolerance)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from . import runs
from .profiles import Profile
from .report import CheckFailed, Row, row

CHECK = "pretraining"


def main_args(profile: Profile, mds: Path, run_dir: Path, *extra: str) -> list[str]:
    """``main.py``'s arguments: the profile's recipe on the news shards, this run's folders, the check's length."""
    return [profile.pretrain_recipe, f"train_loader.local={mds}", "eval_loader=null",
            f"device={'gpu' if profile.device == 'cuda' else 'cpu'}", "precision=amp_bf16",
            f"save_folder={run_dir}/checkpoints", f"loggers.tensorboard.log_dir={run_dir}/tb",
            "save_num_checkpoints_to_keep=-1", "export_hf_dir=null", "log_to_console=false", *extra]


def final_checkpoint(run_dir: Path, steps: int) -> Path:
    checkpoint = runs.latest_checkpoint(run_dir / "checkpoints")
    if runs.checkpoint_batch(checkpoint) != steps:
        raise CheckFailed(f"{run_dir.name}: the last checkpoint is {checkpoint}, not the one of batch {steps}")
    return checkpoint


def loss_row(profile: Profile, losses: dict[int, float]) -> Row:
    steps = profile.pretrain_steps
    if sorted(losses) != list(range(steps)):
        raise CheckFailed(f"logged losses of {len(losses)} batches, expected batches 0..{steps - 1}")
    bad = [step for step, loss in losses.items() if not math.isfinite(loss)]
    window = profile.loss_window
    first = statistics.mean(losses[s] for s in range(window))
    last = statistics.mean(losses[s] for s in range(steps - window, steps))
    ok = not bad and first - last >= profile.min_loss_drop
    return row(CHECK, f"{steps} steps amp_bf16", ok,
               f"loss {first:.3f} -> {last:.3f} (mean of the first/last {window}; must fall by "
               f"{profile.min_loss_drop}), non-finite at {bad or 'no step'}",
               first=first, last=last, nonfinite_steps=bad)


def run(profile: Profile, work_dir: Path) -> list[Row]:
    mds = runs.news_mds(work_dir, profile)
    steps, kill_at = profile.pretrain_steps, profile.kill_at
    length = [f"max_duration={steps}ba", f"save_interval={kill_at}ba"]
    reference, killed = work_dir / CHECK / "reference", work_dir / CHECK / "killed"
    runs.run(runs.entry_point("main.py", *main_args(profile, mds, reference, *length)), reference / "run.log",
             profile)
    rows = [loss_row(profile, runs.train_losses(reference / "tb"))]

    command = runs.entry_point("main.py", *main_args(profile, mds, killed, *length))
    runs.run_until(command, killed / "killed.log", profile,
                   lambda: runs.latest_checkpoint(killed / "checkpoints") is not None)
    resumed_from = runs.checkpoint_batch(runs.latest_checkpoint(killed / "checkpoints"))
    resumed_at = runs.rerun(command, killed / "restart.log", profile, killed / "tb", kill_at)
    difference = runs.weight_difference(runs.model_weights(final_checkpoint(killed, steps)),
                                        runs.model_weights(final_checkpoint(reference, steps)))
    tolerance = profile.resume_tolerance
    ok = difference["differing"] == 0 if tolerance == 0 else difference["relative_l2"] <= tolerance
    verdict = "bit-identical" if difference["differing"] == 0 else (
        f"{difference['differing']}/{difference['tensors']} tensors differ, max {difference['max_abs']:.1e}, "
        f"L2 {difference['relative_l2']:.1e} relative (tolerance {tolerance or 'bit-identical'})")
    rows.append(row(CHECK, f"kill at {resumed_from} + restart", ok,
                    f"resumed at batch {resumed_at}; final weights vs uninterrupted: {verdict}",
                    resumed_at=resumed_at, **difference))
    return rows
