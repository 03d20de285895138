"""Composer warnings the study triggers on purpose, silenced where its runs are built and trained.

Each is expected, not a problem: a study run has no eval loader (held-out MLM is scored after training, the
recipes' ``eval_interval`` stays), the recipes' memory monitor has nothing to measure on a CPU, and a
calibration turn or a tiny run is shorter than the ~17 steps at which ``t_warmup: 0.06dur`` reaches one batch.
Anything else Composer says still reaches the console.
"""

from __future__ import annotations

from mosaicbert.warnings_silenced import silenced

EXPECTED = (
    r"Specifying `eval_interval=.*` without an `eval_dataloader` has no effect",
    r"The memory monitor only works on CUDA devices",
    r"The warmup duration is 0\.",
)


def expected_warnings_silenced():
    """Within the block, the study's expected Composer warnings (``EXPECTED``) are not shown."""
    return silenced(EXPECTED)
