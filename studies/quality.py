"""The quality study (issue 11): MosaicBERT vs BERT at equal wall-clock budgets, held-out MLM and downstream.

    python studies/quality.py yamls/study/quality-cpu.yaml [key=value ...]

Writes ``docs/benchmarks/quality.{md,json,png}`` (``out=...``); resumable (``work_dir=...``). Keys:
``src/mosaicbert/study/quality/config.py`` (arms and claims); method and GPU command: ``docs/benchmarks/quality.md``.
Exit codes: 0 done, 2 bad config (one line naming the key).
"""

import sys

from mosaicbert.study.cli import study_main
from mosaicbert.study.quality.config import StudyConfig
from mosaicbert.study.quality.run import run_study


def main(argv=None) -> int:
    return study_main(argv, __doc__, "studies/quality.py", StudyConfig, run_study,
                      "base_budget_s=60 run_arms=[hf_bert,mosaic_bert]")


if __name__ == "__main__":
    sys.exit(main())
