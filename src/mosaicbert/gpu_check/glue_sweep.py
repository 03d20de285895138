"""A tiny ``glue.py`` sweep (the bundled GLUE fixtures, a tiny MosaicBERT) with at least one job per GPU: every
visible GPU gets a worker (``CUDA_VISIBLE_DEVICES`` mapping, as ``glue.py`` prints it), and every job finishes."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import torch

from mosaicbert.finetune.job_queue import worker_gpus

from . import runs
from .profiles import Profile
from .report import CheckFailed, Row, row

CHECK = "glue"
WHERE = re.compile(r"jobs to run \(\d+ already done\) on (?:(\d+) GPUs \(([^)]*)\)|(\d+) CPU processes)")


def run(profile: Profile, work_dir: Path) -> list[Row]:
    gpus = torch.cuda.device_count() if profile.device == "cuda" else 0
    tasks = list(profile.glue_tasks)
    seeds = [19 + i for i in range(max(1, math.ceil(gpus / len(tasks))))]
    out_dir = work_dir / CHECK
    args = ["yamls/test/glue-tiny.yaml", f"output_dir={out_dir}", "from_mnli=[]", f"run_tasks=[{','.join(tasks)}]",
            f"task_defaults.seeds=[{','.join(map(str, seeds))}]",
            "precision=amp_bf16", "workers=1"]
    log = out_dir / "glue.log"
    runs.run(runs.entry_point("glue.py", *args), log, profile)
    where = WHERE.search(log.read_text(errors="replace"))
    if where is None:
        raise CheckFailed(f"glue.py did not say where its jobs run (log: {log})")
    mapped = where.group(2).split(", ") if where.group(1) else []
    expected = worker_gpus(gpus, os.environ.get("CUDA_VISIBLE_DEVICES")) if gpus else []  # every visible GPU
    results = [json.loads(path.read_text()) for path in sorted((out_dir / "jobs").glob("*.json"))]
    failed = [r["task"] for r in results if r.get("error")]
    jobs = len(tasks) * len(seeds)
    ok = mapped == expected and len(results) == jobs and not failed
    placement = f"workers on GPUs {', '.join(mapped)}" if mapped else f"{where.group(3)} CPU worker process(es)"
    return [row(CHECK, f"{jobs} jobs", ok, f"{placement} (expected {', '.join(expected) or 'CPU'}); "
                f"{len(results) - len(failed)}/{jobs} jobs finished{', failed: ' + ', '.join(failed) if failed else ''}",
                gpus=mapped, jobs=jobs, finished=len(results) - len(failed))]
