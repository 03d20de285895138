"""``python -m mosaicbert.gpu_check [--cpu-dry-run] [--only CHECK ...] [--out FILE]``: run the checks, print one
table, write the JSON; exit 1 when a check failed (its line is printed last), 0 without a GPU (one line)."""

from __future__ import annotations

import argparse
import datetime
import logging
import tempfile
import time
import traceback
from pathlib import Path

from mosaicbert import exit_codes
from mosaicbert.measurement.machine import machine_info

from .profiles import PROFILES
from .registry import CHECKS
from .report import FAIL, SKIP, CheckFailed, Row, table, write_json

log = logging.getLogger("mosaicbert.gpu_check")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu_check.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-dry-run", action="store_true",
                        help="the same checks on CPU stand-ins (gloo, sdpa/reference kernels, tiny shapes)")
    parser.add_argument("--only", nargs="+", choices=list(CHECKS), metavar="CHECK", help="run only these checks: "
                        + "; ".join(f"{name} ({check.description})" for name, check in CHECKS.items()))
    parser.add_argument("--out", default="runs/gpu_check/gpu_check.json", help="the JSON file (default: %(default)s)")
    parser.add_argument("--work-dir", help="where runs, checkpoints and logs go (default: a temporary folder)")
    return parser.parse_args(argv)


def run_check(name: str, profile, work_dir: Path) -> list[Row]:
    """One check's rows; a missing package is a skip, an unexpected error one FAIL line (traceback in the log)."""
    check = CHECKS[name]
    if missing := check.missing():
        return [Row(name, "-", SKIP, f"skipped: {', '.join(missing)} not importable")]
    try:
        return check.runner()(profile, work_dir)
    except CheckFailed as err:
        return [Row(name, "-", FAIL, str(err))]
    except Exception as err:  # noqa: BLE001 - any error of the GPU path is a finding, never a crash
        log.error("%s: %s", name, traceback.format_exc())
        return [Row(name, "-", FAIL, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
                    + f" (traceback: {work_dir / 'gpu_check.log'})")]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not args.cpu_dry_run and not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU visible (torch.cuda.is_available() is False); nothing to check "
              "(--cpu-dry-run runs the checks on CPU stand-ins)")
        return exit_codes.OK
    profile = PROFILES["cpu-dry-run" if args.cpu_dry_run else "gpu"]
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="gpu-check-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    if profile.threads:
        torch.set_num_threads(profile.threads)
    logging.basicConfig(filename=work_dir / "gpu_check.log", level=logging.INFO)
    started = time.perf_counter()
    rows: list[Row] = []
    for name in args.only or CHECKS:
        start = time.perf_counter()
        check_rows = run_check(name, profile, work_dir)
        for r in check_rows:
            r.values.setdefault("seconds", round(time.perf_counter() - start, 1))
        rows += check_rows
        print(f"gpu_check: {name} done in {time.perf_counter() - start:.0f} s", flush=True)
        if profile.device == "cuda":
            torch.cuda.empty_cache()  # the next check's subprocesses get the memory back
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "profile": profile.name, "seconds": round(time.perf_counter() - started, 1),
            "machine": machine_info(), "work_dir": str(work_dir)}
    print(table(rows))
    write_json(Path(args.out), info, rows)
    print(f"gpu_check: {info['seconds']:.0f} s; written: {args.out}; runs and logs: {work_dir}")
    failed = [r for r in rows if r.status == FAIL]
    for r in failed:
        print(f"gpu_check: FAILED: {r.check}: {r.item}: {r.result}")
    return exit_codes.FAILED if failed else exit_codes.OK
