"""The checks, in the order they run, and the packages each needs beyond torch + transformers (model-level checks
need nothing more; the trainer-level ones run where Composer and Streaming import)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

TRAINER_STACK = ("composer", "streaming", "tensorboard")


@dataclass(frozen=True)
class Check:
    name: str
    module: str  # the module under mosaicbert.gpu_check with ``run(profile, work_dir) -> list[Row]``
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
    Check("pretraining", "pretraining", TRAINER_STACK, "main.py amp_bf16: loss falls; kill + restart"),
    Check("throughput", "throughput", TRAINER_STACK, "tokens/s and MFU of every model family"),
    Check("fsdp", "fsdp", TRAINER_STACK, "FSDP per layer on all devices: save, resume, export"),
    Check("glue", "glue_sweep", TRAINER_STACK, "glue.py sweep: one worker per GPU"),
    Check("compile", "compile", TRAINER_STACK, "compile_config vs eager: losses and speed"),
)}
