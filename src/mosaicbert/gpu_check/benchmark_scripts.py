"""The scripts of ``benchmarks/`` (not a package) as modules, so a check measures with the same code as the CPU
reference measurement: ``benchmark_module("model_throughput")``."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from .profiles import REPO

BENCHMARKS = REPO / "benchmarks"


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` imported as the module ``name`` (the folder joins the path, as for the script run
    itself: the scripts import each other by name)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.append(str(BENCHMARKS))
    return importlib.import_module(name)
