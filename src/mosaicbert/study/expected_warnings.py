"""Composer warnings the study triggers on purpose, silenced where its runs are built and trained.

Each is expected, not a problem: a study run has no eval loader (held-out MLM is scored after training, the
recipes' ``eval_interval`` stays), the recipes' memory monitor has nothing to measure on a CPU, and a
calibration turn, a tiny run or a tiny fine-tuning is shorter than the steps at which a fractional warmup
(``t_warmup: 0.06dur``) reaches one batch.
Anything else Composer says still reaches the console.
"""

from __future__ import annotations

import os

from mosaicbert.warnings_silenced import python_warnings, silenced

EXPECTED = (  # the start of each message
    "Specifying `eval_interval=",  # ... without an `eval_dataloader` has no effect
    "The memory monitor only works on CUDA devices",
    "The warmup duration is 0.",
)


def expected_warnings_silenced():
    """Within the block, the study's expected Composer warnings (``EXPECTED``) are not shown."""
    return silenced(EXPECTED)


def child_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child process of the study (a fine-tuning job): the same warnings silenced."""
    return {**env, "PYTHONWARNINGS": python_warnings(EXPECTED, os.environ.get("PYTHONWARNINGS"))}
