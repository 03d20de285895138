"""Command line of ``main.py``: ``CONFIG.yaml [key=value ...]`` -> a pretraining run; one-line errors."""

from __future__ import annotations

import argparse
import logging
import sys

from mosaicbert.callbacks import NonFiniteLossError
from mosaicbert.models import WeightsMismatchError

from .config import ConfigError, load_config
from .pretrain import pretrain
from .schema import PretrainConfig

# Errors that explain themselves in one line: reported without a traceback, with a non-zero exit.
USER_ERRORS = (ConfigError, NonFiniteLossError, WeightsMismatchError)


def pretrain_cli(argv: list[str] | None = None) -> int:
    """Parse ``argv``, load and validate the config, pretrain; return the process exit code."""
    parser = argparse.ArgumentParser(prog="main.py", description="Pretrain a BERT-style encoder with MLM.")
    parser.add_argument("config", help="YAML config, e.g. yamls/mosaic-bert-base.yaml")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. max_duration=100ba optimizer.lr=1e-4")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        pretrain(load_config(args.config, args.overrides, PretrainConfig))
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
