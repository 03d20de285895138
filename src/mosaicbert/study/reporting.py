"""What both studies' reports share: mean and spread of seeds, a figure to draw on, and the three outputs written
atomically."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Callable

from mosaicbert.atomic_write import atomic_path, write_text_atomically


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def subplots(*args, **kwargs):
    """``matplotlib.pyplot.subplots`` on the file-only backend (studies run on machines without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def write_outputs(results: dict, render: Callable[[dict], str], draw: Callable[[dict], Any]) -> list[Path]:
    """``OUT.json``, ``OUT.md`` (``render``) and ``OUT.png`` (the figure ``draw`` returns), each written atomically."""
    import matplotlib.pyplot as plt

    out = Path(results["out"])
    written = [write_text_atomically(out.with_suffix(suffix), text + "\n")
               for suffix, text in ((".json", json.dumps(results, indent=2)), (".md", render(results)))]
    png = out.with_suffix(".png")
    fig = draw(results)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return written + [png]
