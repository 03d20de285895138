"""Command lines of ``glue.py`` and ``sequence_classification.py``; exit codes: ``mosaicbert.exit_codes``.

``--help`` answers before anything heavy loads: Composer, transformers and torch are imported only once a
config is to be loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mosaicbert import exit_codes

GLUE_USAGE = "usage: python glue.py CONFIG.yaml [key=value ...]   e.g. yamls/finetuning/glue/mosaic-bert-base.yaml"
CUSTOM_TASK_USAGE = ("usage: python sequence_classification.py CONFIG.yaml [key=value ...]   "
                     "e.g. yamls/finetuning/sequence-classification.yaml")


def answer_usage(argv: Sequence[str], usage: str) -> int | None:
    """No arguments: the usage line on stderr, exit 2; -h/--help: on stdout, exit 0; else None (go on)."""
    if not argv or argv[0] in ("-h", "--help"):
        print(usage, file=sys.stderr if not argv else sys.stdout)
        return exit_codes.USAGE if not argv else exit_codes.OK
    return None


def glue_main(argv: Sequence[str]) -> int:
    """Run the GLUE sweep; exit code 0 when every job succeeded, 1 when some failed, 2 for a bad config."""
    if (code := answer_usage(argv, GLUE_USAGE)) is not None:
        return code
    from mosaicbert.config.loading import load_config
    from mosaicbert.finetune.config import GlueConfig
    from mosaicbert.finetune.glue_sweep import run_glue

    def run() -> int:
        failed = run_glue(load_config(argv[0], argv[1:], GlueConfig)).failed
        return exit_codes.FAILED if failed else exit_codes.OK

    return exit_codes.run_entry_point("glue.py", run)


def custom_task_main(argv: Sequence[str]) -> int:
    """Fine-tune on the user's CSV/JSONL; exit code 0 on success, 1 for bad data or weights, 2 for a bad config."""
    if (code := answer_usage(argv, CUSTOM_TASK_USAGE)) is not None:
        return code
    from mosaicbert.config.loading import load_config
    from mosaicbert.finetune.config import SequenceClassificationConfig
    from mosaicbert.finetune.custom_task import run_custom_task

    def run() -> None:
        run_custom_task(load_config(argv[0], argv[1:], SequenceClassificationConfig))

    return exit_codes.run_entry_point("sequence_classification.py", run)
