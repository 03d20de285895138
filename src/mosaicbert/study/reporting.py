"""What both studies' reports share: mean and spread of seeds, and the three outputs written atomically."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Callable

from mosaicbert.atomic_write import atomic_path, write_text_atomically


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def write_outputs(results: dict, render: Callable[[dict], str], draw: Callable[[dict, Path], None]) -> list[Path]:
    """``OUT.json``, ``OUT.md`` (``render``) and ``OUT.png`` (``draw``), each written atomically."""
    out = Path(results["out"])
    written = [write_text_atomically(out.with_suffix(suffix), text + "\n")
               for suffix, text in ((".json", json.dumps(results, indent=2)), (".md", render(results)))]
    png = out.with_suffix(".png")
    with atomic_path(png) as tmp:
        draw(results, tmp)
    return written + [png]
