"""Command lines of ``glue.py`` and ``sequence_classification.py``: config errors and data errors are one line.

``--help`` answers before anything heavy loads: Composer, transformers and torch are imported only once a
config is to be loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

GLUE_USAGE = "usage: python glue.py CONFIG.yaml [key=value ...]   e.g. yamls/finetuning/glue/mosaic-bert-base.yaml"
CUSTOM_TASK_USAGE = ("usage: python sequence_classification.py CONFIG.yaml [key=value ...]   "
                     "e.g. yamls/finetuning/sequence-classification.yaml")


def _usage(argv: Sequence[str], usage: str) -> int | None:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    return None


def glue_main(argv: Sequence[str]) -> int:
    """Run the GLUE sweep; exit code 0 when every job succeeded, 1 when some failed, 2 for a bad config."""
    if (code := _usage(argv, GLUE_USAGE)) is not None:
        return code
    from mosaicbert.finetune.config import GlueConfig
    from mosaicbert.finetune.glue_sweep import run_glue
    from mosaicbert.training import ConfigError, load_config

    try:
        cfg = load_config(argv[0], argv[1:], GlueConfig)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 1 if run_glue(cfg).failed else 0


def custom_task_main(argv: Sequence[str]) -> int:
    """Fine-tune on the user's CSV/JSONL; exit code 0 on success, 1 for bad data or weights, 2 for a bad config."""
    if (code := _usage(argv, CUSTOM_TASK_USAGE)) is not None:
        return code
    from mosaicbert.finetune.config import SequenceClassificationConfig
    from mosaicbert.finetune.custom_task import run_custom_task
    from mosaicbert.finetune.data import DataFormatError
    from mosaicbert.models import WeightsMismatchError
    from mosaicbert.training import ConfigError, load_config

    try:
        cfg = load_config(argv[0], argv[1:], SequenceClassificationConfig)
        run_custom_task(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (DataFormatError, WeightsMismatchError, FileNotFoundError) as err:  # bad data or init_from
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
