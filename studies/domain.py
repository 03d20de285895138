"""The domain study (issue 32): the domain's own vocabulary, whole-word masking and domain upsampling at the end of
training, each against the arm without it, at equal wall-clock budgets.

    python studies/domain.py yamls/study/domain-cpu.yaml [key=value ...]

Writes ``docs/benchmarks/domain.{md,json,png}`` (``out=...``); resumable (``work_dir=...``). Keys:
``src/mosaicbert/study/domain/config.py``; method: ``docs/benchmarks/domain.md``.
Exit codes: 0 done, 2 bad config (one line naming the key).
"""

import sys

from mosaicbert.study.cli import study_main
from mosaicbert.study.domain.config import DomainStudyConfig
from mosaicbert.study.domain.run import run_study


def main(argv=None) -> int:
    return study_main(argv, __doc__, "studies/domain.py", DomainStudyConfig, run_study,
                      "budget_s=60 seeds=[17] run_arms=[general_vocab,own_vocab]")


if __name__ == "__main__":
    sys.exit(main())
