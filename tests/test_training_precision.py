"""amp_bf16 on CPU: bf16 autocast only where the CPU runs bf16 natively, else fp32 with one warning line."""

from __future__ import annotations

import logging
import os

import pytest
import torch

from mosaicbert import precision
from mosaicbert.precision import CPU_BF16_ENV, cpu_bf16_skip_note, resolve_precision


@pytest.fixture
def cpu(monkeypatch):
    """Set what PyTorch reports about the CPU: ``cpu(native=True|False)`` (an x86 machine either way)."""
    monkeypatch.delenv(CPU_BF16_ENV, raising=False)
    monkeypatch.delenv(precision._ANNOUNCED_ENV, raising=False)
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")

    def set_cpu(native: bool, avx512: bool = True) -> None:
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: avx512)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
        precision.cpu_bf16_decision.cache_clear()

    yield set_cpu
    precision.cpu_bf16_decision.cache_clear()
    os.environ.pop(precision._ANNOUNCED_ENV, None)


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == precision.__name__ and r.levelno >= logging.WARNING]


def test_native_bf16_cpu_autocasts_in_bf16_without_a_warning(cpu, caplog):
    cpu(native=True)
    assert resolve_precision("amp_bf16", "cpu") == ("fp32", torch.bfloat16)
    assert not warnings_of(caplog)
    assert cpu_bf16_skip_note() is None


@pytest.mark.parametrize("avx512", [False, True], ids=["avx2-only", "avx512-without-bf16"])
def test_cpu_without_native_bf16_falls_back_to_fp32_saying_so_once(cpu, caplog, avx512):
    cpu(native=False, avx512=avx512)
    for _ in range(3):  # schema validation, Trainer assembly, a GLUE job...: one line for the whole run
        assert resolve_precision("amp_bf16", "cpu") == ("fp32", None)
    [line] = warnings_of(caplog)
    assert "precision=amp_bf16 runs in fp32" in line and "no native bf16" in line and f"{CPU_BF16_ENV}=1" in line
    assert os.environ[precision._ANNOUNCED_ENV] == "1"  # spawned workers inherit it and stay quiet
    assert "bf16 skipped" in cpu_bf16_skip_note()
    assert resolve_precision("fp32", "cpu") == ("fp32", None)
    assert resolve_precision("amp_bf16", "gpu") == ("amp_bf16", None)  # GPUs are Composer's business


def test_environment_forces_bf16_or_fp32(cpu, caplog, monkeypatch):
    cpu(native=False)
    monkeypatch.setenv(CPU_BF16_ENV, "1")
    assert resolve_precision("amp_bf16", "cpu") == ("fp32", torch.bfloat16)
    assert not warnings_of(caplog)
    cpu(native=True)
    monkeypatch.setenv(CPU_BF16_ENV, "0")
    monkeypatch.delenv(precision._ANNOUNCED_ENV, raising=False)
    assert resolve_precision("amp_bf16", "cpu") == ("fp32", None)
    [line] = warnings_of(caplog)
    assert f"{CPU_BF16_ENV}=0" in line
