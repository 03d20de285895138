"""Device and precision: the default device, and the recipe's ``precision`` key -> Composer Trainer precision + the
model's own autocast dtype.

Composer's Trainer rejects ``amp_bf16`` on CPU, so on CPU bf16 mixed precision runs as a full-precision
Trainer whose model wraps forward and loss in ``torch.autocast("cpu", torch.bfloat16)``. That only pays on a
CPU that executes bf16 natively (x86 with AVX512-BF16 / AMX, Arm with BF16): elsewhere PyTorch emulates bf16
some 70x slower than fp32, so ``amp_bf16`` falls back to fp32 there, saying so in one warning line per run.
``MOSAICBERT_CPU_BF16=1`` forces bf16 autocast on any CPU, ``MOSAICBERT_CPU_BF16=0`` never uses it.
"""

from __future__ import annotations

import logging
import os
import platform
from functools import lru_cache
from typing import Optional

import torch

from mosaicbert.config.loading import ConfigError

log = logging.getLogger(__name__)

# (precision, device) -> (Trainer precision, model autocast dtype); device is "cpu" or "gpu"
PRECISIONS: dict[tuple[str, str], tuple[str, Optional[torch.dtype]]] = {
    ("fp32", "cpu"): ("fp32", None),
    ("amp_bf16", "cpu"): ("fp32", torch.bfloat16),
    ("fp32", "gpu"): ("fp32", None),
    ("amp_bf16", "gpu"): ("amp_bf16", None),
    ("amp_fp16", "gpu"): ("amp_fp16", None),
    # no amp_fp8: Composer's needs Transformer Engine and its TE layers, which this model does not use
}
CPU_BF16_ENV = "MOSAICBERT_CPU_BF16"  # "1": bf16 autocast on any CPU; "0": never; unset: when native
# Set once the fallback has been announced: spawned workers (GLUE jobs) inherit it and stay quiet.
_ANNOUNCED_ENV = "_MOSAICBERT_CPU_BF16_ANNOUNCED"
X86_MACHINES = ("x86_64", "amd64", "i386", "i686")


def default_device() -> str:
    """``gpu`` when CUDA is available, else ``cpu``: the device of every run whose config names none."""
    return "gpu" if torch.cuda.is_available() else "cpu"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU executes bf16 matmuls natively, as PyTorch reports it.

    ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` says whether oneDNN has a bf16 path at all; on x86 that
    includes plain AVX-512, which converts rather than computes in bf16, so x86 also needs the AVX512-BF16
    instructions (every AMX CPU has them). Arm's check is already the native BF16 extension.
    """
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    if platform.machine().lower() in X86_MACHINES:
        return bool(torch.cpu._is_avx512_bf16_supported())
    return True


@lru_cache(maxsize=1)
def cpu_bf16_decision() -> tuple[bool, str]:
    """``(use bf16 autocast on CPU, reason)``: the environment override first, then the hardware."""
    forced = os.environ.get(CPU_BF16_ENV, "").strip().lower()
    if forced in ("1", "true", "yes"):
        return True, f"{CPU_BF16_ENV}={forced}"
    if forced in ("0", "false", "no"):
        return False, f"{CPU_BF16_ENV}={forced}"
    if cpu_has_native_bf16():
        return True, "this CPU runs bf16 natively"
    return False, ("this CPU has no native bf16 (PyTorch reports no AVX512-BF16/AMX or Arm BF16; "
                   f"capability {torch.backends.cpu.get_cpu_capability()}), so bf16 would be emulated ~70x slower")


def cpu_bf16_skip_note() -> Optional[str]:
    """For benchmarks: why bf16 columns are skipped on this CPU (the run's own decision), or None to measure them."""
    use_bf16, reason = cpu_bf16_decision()
    if use_bf16:
        return None
    return f"bf16 skipped: {reason}; set {CPU_BF16_ENV}=1 to measure bf16 anyway"


def resolve_precision(precision: str, device: str, key: str = "precision") -> tuple[str, Optional[torch.dtype]]:
    """Return ``(trainer_precision, autocast_dtype)`` for ``precision`` on ``device`` (``cpu`` or ``gpu``).

    ``amp_bf16`` on a CPU without native bf16 gives fp32 and, once per run, a warning naming the reason.
    """
    try:
        resolved = PRECISIONS[(precision, device)]
    except KeyError:
        valid = sorted({p for p, d in PRECISIONS if d == device})
        raise ConfigError(f"config key '{key}': {precision!r} is not available on {device}; "
                          f"choose from: {', '.join(valid)}") from None
    if resolved[1] is torch.bfloat16 and device == "cpu":
        use_bf16, reason = cpu_bf16_decision()
        _announce(key, precision, use_bf16, reason)
        if not use_bf16:
            return PRECISIONS[("fp32", "cpu")]
    return resolved


def _announce(key: str, precision: str, use_bf16: bool, reason: str) -> None:
    """One line per run (spawned workers inherit the marker): a warning for the fp32 fallback."""
    if os.environ.get(_ANNOUNCED_ENV):
        return
    os.environ[_ANNOUNCED_ENV] = "1"
    if use_bf16:
        log.info("%s=%s: bf16 autocast on CPU (%s)", key, precision, reason)
        return
    hint = "" if reason.startswith(CPU_BF16_ENV) else f"; set {CPU_BF16_ENV}=1 to use bf16 anyway"
    log.warning("%s=%s runs in fp32 on this CPU: %s%s", key, precision, reason, hint)
