"""``token_classification.py``'s command line (``--help`` loads nothing heavy); exit codes:
``mosaicbert.exit_codes``."""

from __future__ import annotations

from collections.abc import Sequence

from mosaicbert import exit_codes
from mosaicbert.finetune.cli import answer_usage

USAGE = ("usage: python token_classification.py CONFIG.yaml [key=value ...]   "
         "e.g. yamls/finetuning/token-classification.yaml")


def token_classification_main(argv: Sequence[str]) -> int:
    """Fine-tune on word-tagged sentences; 0 on success, 1 for bad data or weights, 2 for a bad config."""
    if (code := answer_usage(argv, USAGE)) is not None:
        return code
    from mosaicbert.config.loading import load_config

    from .config import TokenClassificationConfig
    from .run import run_token_classification

    def run() -> None:
        run_token_classification(load_config(argv[0], argv[1:], TokenClassificationConfig))

    return exit_codes.run_entry_point("token_classification.py", run)
