"""The scripts of ``benchmarks/`` (not a package) as modules, so a check measures with the same code as the CPU
reference measurement: ``benchmark_module("model_throughput")``."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from .profiles import REPO

BENCHMARKS = REPO / "benchmarks"


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks/<name>.py``, loaded from that file as the module ``name`` (the scripts import each other by
    name, so the folder also joins the end of the path, as for a script run from it)."""
    if name not in sys.modules:
        if str(BENCHMARKS) not in sys.path:
            sys.path.append(str(BENCHMARKS))
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]
