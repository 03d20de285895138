"""The quality study (issue 11): MosaicBERT vs BERT at equal wall-clock budgets, held-out MLM and downstream.

    python benchmarks/quality_study.py yamls/study/quality-cpu.yaml [key=value ...]

Writes ``docs/benchmarks/quality.{md,json,png}`` (``out=...``); resumable (``work_dir=...``). Keys:
``src/mosaicbert/study/config.py``; method and GPU command: ``docs/benchmarks/quality.md``.
Exit codes: 0 done, 2 bad config (one line naming the key).
"""

import argparse
import logging
import shlex
import sys

from mosaicbert.study.config import StudyConfig
from mosaicbert.study.run import run_study
from mosaicbert.training import ConfigError, load_config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="study YAML, e.g. yamls/study/quality-cpu.yaml")
    parser.add_argument("overrides", nargs="*", help="key=value, e.g. base_budget_s=60 run_arms=[hf_bert,mosaic_bert]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        study = load_config(args.config, args.overrides, StudyConfig)
        run_study(study, "python benchmarks/quality_study.py " + shlex.join([args.config, *args.overrides]))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
