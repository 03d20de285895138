"""Command lines of ``glue.py`` and ``sequence_classification.py``: config errors and data errors are one line."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mosaicbert.training import ConfigError, load_config

GLUE_USAGE = "usage: python glue.py CONFIG.yaml [key=value ...]   e.g. yamls/finetuning/glue/mosaic-bert-base.yaml"
OWN_DATA_USAGE = ("usage: python sequence_classification.py CONFIG.yaml [key=value ...]   "
                  "e.g. yamls/finetuning/sequence-classification.yaml")


def _usage(argv: Sequence[str], usage: str) -> int | None:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    return None


def glue_main(argv: Sequence[str]) -> int:
    """Run the GLUE sweep; exit code 0 when every job succeeded, 1 when some failed, 2 for a bad config."""
    from mosaicbert.glue.config import GlueConfig
    from mosaicbert.glue.sweep import run_glue

    if (code := _usage(argv, GLUE_USAGE)) is not None:
        return code
    try:
        cfg = load_config(argv[0], argv[1:], GlueConfig)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = run_glue(cfg)
    failed = summary["failed_tasks"] or any(row["failed_seeds"] for row in summary["tasks"].values())
    return 1 if failed else 0


def own_data_main(argv: Sequence[str]) -> int:
    """Fine-tune on the user's CSV/JSONL; exit code 0 on success, 1 for bad data or weights, 2 for a bad config."""
    from mosaicbert.glue.config import SequenceClassificationConfig
    from mosaicbert.glue.data import DataFormatError
    from mosaicbert.glue.own_data import run_own_task
    from mosaicbert.models import WeightsMismatchError

    if (code := _usage(argv, OWN_DATA_USAGE)) is not None:
        return code
    try:
        cfg = load_config(argv[0], argv[1:], SequenceClassificationConfig)
        run_own_task(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (DataFormatError, WeightsMismatchError, FileNotFoundError) as err:  # bad data or init_from
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
