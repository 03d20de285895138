"""Command lines of ``glue.py`` and ``sequence_classification.py``; exit codes: ``mosaicbert.exit_codes``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mosaicbert import exit_codes
from mosaicbert.training import load_config

GLUE_USAGE = "usage: python glue.py CONFIG.yaml [key=value ...]   e.g. yamls/finetuning/glue/mosaic-bert-base.yaml"
OWN_DATA_USAGE = ("usage: python sequence_classification.py CONFIG.yaml [key=value ...]   "
                  "e.g. yamls/finetuning/sequence-classification.yaml")


def _usage(argv: Sequence[str], usage: str) -> int | None:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage, file=sys.stderr if not argv else sys.stdout)
        return exit_codes.USAGE if not argv else exit_codes.OK
    return None


def glue_main(argv: Sequence[str]) -> int:
    """Run the GLUE sweep; exit code 0 when every job succeeded, 1 when some failed, 2 for a bad config."""
    from mosaicbert.glue.config import GlueConfig
    from mosaicbert.glue.sweep import run_glue

    if (code := _usage(argv, GLUE_USAGE)) is not None:
        return code

    def run() -> int:
        summary = run_glue(load_config(argv[0], argv[1:], GlueConfig))
        failed = summary["failed_tasks"] or any(row["failed_seeds"] for row in summary["tasks"].values())
        return exit_codes.FAILED if failed else exit_codes.OK

    return exit_codes.run_entry_point("glue.py", run)


def own_data_main(argv: Sequence[str]) -> int:
    """Fine-tune on the user's CSV/JSONL; exit code 0 on success, 1 for bad data or weights, 2 for a bad config."""
    from mosaicbert.glue.config import SequenceClassificationConfig
    from mosaicbert.glue.own_data import run_own_task

    if (code := _usage(argv, OWN_DATA_USAGE)) is not None:
        return code

    def run() -> None:
        run_own_task(load_config(argv[0], argv[1:], SequenceClassificationConfig))

    return exit_codes.run_entry_point("sequence_classification.py", run)
