"""The checks, in the order they run, and the packages each needs beyond torch + transformers (model-level checks
need nothing more; the trainer-level ones run where Composer and Streaming import)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

MAIN_PY = ("composer", "streaming", "tensorboard")  # main.py runs, their losses read from TensorBoard


@dataclass(frozen=True)
class Check:
    name: str
    # the module under mosaicbert.gpu_check with ``run(profile, work_dir) -> list[Row]``; ``work_dir`` is shared
    # by the checks of one run (the news shards), each writes under ``work_dir/<check>``
    module: str
    requires: tuple[str, ...] = ()
    description: str = ""

    def runner(self) -> Callable:
        return importlib.import_module(f"mosaicbert.gpu_check.{self.module}").run

    def missing(self) -> list[str]:
        """The required packages that do not import here (missing, or broken against this torch)."""
        missing = []
        for package in self.requires:
            try:
                importlib.import_module(package)
            except Exception:  # noqa: BLE001 - an ABI mismatch is as missing as an absent package
                missing.append(package)
        return missing


CHECKS = {check.name: check for check in (
    Check("attention", "attention", (), "flash_attn / sdpa vs the reference kernel, fwd+bwd, bf16"),
    Check("pretraining", "pretraining", MAIN_PY, "main.py amp_bf16: loss falls; kill + restart"),
    Check("throughput", "throughput", ("composer", "streaming"), "tokens/s and MFU of every model family"),
    Check("host_syncs", "host_syncs", ("composer", "streaming"),
          "unpadding's max_seqlen sync removed: syncs per step, step time before / now"),
    Check("fsdp", "fsdp", MAIN_PY, "FSDP per layer on all devices: save, resume, export"),
    Check("glue", "glue_sweep", ("composer",), "glue.py sweep: one worker per GPU"),
    Check("compile", "compile", ("composer",), "compile_config vs eager: losses and speed"),
)}
