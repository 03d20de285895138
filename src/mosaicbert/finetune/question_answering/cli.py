"""``question_answering.py``'s command line; exit codes: ``mosaicbert.exit_codes`` (``--help`` loads nothing heavy)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mosaicbert import exit_codes

USAGE = ("usage: python question_answering.py CONFIG.yaml [key=value ...]   "
         "e.g. yamls/finetuning/question-answering.yaml")


def question_answering_main(argv: Sequence[str]) -> int:
    """Fine-tune on SQuAD JSON / JSONL; exit code 0 on success, 1 for bad data or weights, 2 for a bad config."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return exit_codes.USAGE if not argv else exit_codes.OK
    from mosaicbert.config.loading import load_config
    from mosaicbert.finetune.question_answering.config import QuestionAnsweringConfig
    from mosaicbert.finetune.question_answering.run import run_question_answering

    def run() -> None:
        run_question_answering(load_config(argv[0], argv[1:], QuestionAnsweringConfig))

    return exit_codes.run_entry_point("question_answering.py", run)
