"""What a figure was measured on: one description of the machine for every benchmark, study and the GPU check, so
their reports name the same facts the same way (figures from different CPUs are not comparable: name the CPU).

Packages are looked up, not required: the GPU check runs on images without Composer or Streaming (``None`` there).
"""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

OPTIONAL_PACKAGES = ("composer", "streaming", "flash_attn")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        return next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def package_version(name: str) -> str | None:
    """``name``'s version, or None where it does not import (absent, or broken on this image)."""
    try:
        return __import__(name).__version__
    except Exception:  # noqa: BLE001 - any failure to import means "not usable here"
        return None


def machine_info() -> dict[str, Any]:
    """Date, CPU (model, cores, native bf16), GPUs, torch threads and the versions of the stack."""
    import torch
    import transformers

    from mosaicbert.precision import cpu_has_native_bf16

    cuda = torch.cuda.is_available()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(), "cores": os.cpu_count(), "native_bf16": cpu_has_native_bf16(),
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "gpus": torch.cuda.device_count() if cuda else 0,
        "gpu_names": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
        "cuda": torch.version.cuda if cuda else None,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        **{name: package_version(name) for name in OPTIONAL_PACKAGES},
    }


def describe(info: dict[str, Any]) -> str:
    """One line for a report: ``CPU, N cores (native bf16: yes), GPU; torch T threads; versions``."""
    gpu = f"{info['gpus']} x {info['gpu']}" if info.get("gpu") else "no GPU"
    bf16 = "yes" if info.get("native_bf16") else "no"
    stack = ", ".join(f"{name} {info[name]}" for name in ("torch", "composer", "transformers") if info.get(name))
    return (f"{info['cpu']}, {info['cores']} cores (native bf16: {bf16}), {gpu}; {info['torch_threads']} torch "
            f"threads; {stack}")
