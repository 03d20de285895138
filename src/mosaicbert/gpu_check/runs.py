"""Entry points run as a user runs them (``main.py``, ``glue.py``, Composer's launcher) in subprocesses, and what
they leave behind: the news corpus as MDS shards, TensorBoard losses, checkpoints."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from .profiles import REPO, Profile
from .report import CheckFailed

TAIL_LINES = 30


def news_mds(work_dir: Path, profile: Profile) -> Path:
    """The bundled news articles as raw-text MDS shards (``train``, ``val``), converted once per check run."""
    from mosaicbert.data.conversion import ConversionOptions, convert_splits
    from mosaicbert.data.sources import open_source

    root = work_dir / "news-mds"  # shared by the checks of one run
    if not (root / "val" / "index.json").exists():
        convert_splits(open_source("news", ["train", "val"]), root,
                       ConversionOptions(max_docs=profile.news_docs, progress=False, overwrite=True,
                                         **({'workers': profile.conversion_workers} if profile.conversion_workers else {})))
    return root


def environment(profile: Profile) -> dict[str, str]:
    """This process's environment, this checkout's code first on the path, offline, plus the profile's extras."""
    path = os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            **profile.env}


def entry_point(script: str, *args: str, ranks: int | None = None) -> list[str]:
    """The command line of ``script`` (relative to the repository), under Composer's launcher with ``ranks``."""
    launcher = [sys.executable, "-m", "composer.cli", "-n", str(ranks)] if ranks else [sys.executable]
    return [*launcher, str(REPO / script), *args]


def run(command: list[str], log: Path, profile: Profile, timeout: float = 600) -> None:
    """Run ``command`` to the end, output to ``log``; a non-zero exit raises with the log's last error line."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        done = subprocess.run(command, cwd=REPO, env=environment(profile), stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout)
    if done.returncode != 0:
        raise CheckFailed(f"exit {done.returncode}: {last_error(log)} (log: {log})")


def rerun(command: list[str], log: Path, profile: Profile, tensorboard_dir: Path, resume_at: int) -> int:
    """Run ``command`` again over a run's folders; the first batch it trains, which must be ``resume_at`` or
    later (autoresume picked up the checkpoint instead of starting over)."""
    before = set(tensorboard_dir.rglob("events.out.tfevents.*"))
    run(command, log, profile)
    steps = train_losses_of(set(tensorboard_dir.rglob("events.out.tfevents.*")) - before)
    if not steps or min(steps) < resume_at:
        raise CheckFailed(f"the restart trained from batch {min(steps, default=None)}: it started over instead of "
                          f"resuming at {resume_at} (log: {log})")
    return min(steps)


def run_until(command: list[str], log: Path, profile: Profile, done: callable, timeout: float = 600) -> None:
    """Start ``command`` and SIGKILL it as soon as ``done()`` is true (a user pulling the plug)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=REPO, env=environment(profile), stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while not done():
                if process.poll() is not None:
                    raise CheckFailed(f"the run ended (exit {process.returncode}) before it could be killed: "
                                      f"{last_error(log)} (log: {log})")
                if time.monotonic() > deadline:
                    raise CheckFailed(f"the run did not reach the kill point within {timeout:.0f} s (log: {log})")
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the launcher's ranks and loader workers
            process.wait(timeout=60)


def last_error(log: Path) -> str:
    """The last line of ``log`` that reads like an error (else its last line)."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(no output)"])[-1][:300]


def train_losses(tensorboard_dir: Path) -> dict[int, float]:
    """``step -> loss`` from a run's TensorBoard event files (later files win)."""
    return train_losses_of(tensorboard_dir.rglob("events.out.tfevents.*"))


def train_losses_of(files, tag: str = "loss/train/total") -> dict[int, float]:
    """``step -> loss`` from TensorBoard event ``files`` (later files win)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values: dict[int, float] = {}
    for file in sorted(files, key=lambda p: p.stat().st_mtime):
        events = EventAccumulator(str(file), size_guidance={"scalars": 0})
        events.Reload()
        if tag in events.Tags()["scalars"]:
            values.update({e.step: e.value for e in events.Scalars(tag)})
    return values


def latest_checkpoint(folder: Path) -> Path | None:
    """The checkpoint ``latest-rank0.pt`` points to (Composer's autoresume reads the same link)."""
    link = folder / "latest-rank0.pt"
    return link.resolve() if link.exists() else None


def checkpoint_batch(path: Path | None) -> int | None:
    """The batch count in a Composer checkpoint name (``ep0-ba100-rank0.pt`` -> 100)."""
    if path is None or "-ba" not in path.name:
        return None
    return int(path.name.split("-ba")[1].split("-")[0])


def model_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint, map_location="cpu", weights_only=False)["state"]["model"]


def weight_difference(weights: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> dict:
    """How far ``weights`` are from ``reference``: tensors differing, max |difference|, L2 relative to the norm."""
    if weights.keys() != reference.keys():
        raise CheckFailed(f"the checkpoints hold different tensors: {sorted(weights.keys() ^ reference.keys())[:3]}")
    floats = [name for name, t in reference.items() if t.is_floating_point()]
    differing = [name for name in reference if not torch.equal(weights[name], reference[name])]
    squared = sum(float((weights[n].double() - reference[n].double()).pow(2).sum()) for n in floats)
    norm = math.sqrt(sum(float(reference[n].double().pow(2).sum()) for n in floats))
    largest = max((float((weights[n].double() - reference[n].double()).abs().max()) for n in floats), default=0.0)
    return {"tensors": len(reference), "differing": len(differing), "max_abs": largest,
            "relative_l2": math.sqrt(squared) / max(norm, 1e-30), "first_differing": differing[:3]}
