"""The long-context study (issue 20): phase 1 at 128 tokens, context extension in phase 2, CE by evaluation length.

    python studies/long_context.py yamls/study/long-context-cpu.yaml [key=value ...]

Writes ``docs/benchmarks/long-context.{md,json,png}`` (``out=...``); resumable (``work_dir=...``). Keys:
``src/mosaicbert/study/long_context/config.py`` (arms and claims).
Exit codes: 0 done, 2 bad config (one line naming the key).
"""

import sys

from mosaicbert.study.cli import study_main
from mosaicbert.study.long_context.config import LongContextStudyConfig
from mosaicbert.study.long_context.run import run_study


def main(argv=None) -> int:
    return study_main(argv, __doc__, "studies/long_context.py", LongContextStudyConfig, run_study,
                      "seeds=[17] second_budget_s=60")


if __name__ == "__main__":
    sys.exit(main())
