"""Command line of ``main.py``: ``CONFIG.yaml [key=value ...]`` -> a pretraining run; exit codes: ``exit_codes``.

``--help`` and bad usage answer before anything heavy loads: Composer and torch load once a config is read.
"""

from __future__ import annotations

import argparse

from mosaicbert.exit_codes import run_entry_point


def pretrain_cli(argv: list[str] | None = None) -> int:
    """Parse ``argv``, load and validate the config, pretrain; return the process exit code (0, 1, 2, 130)."""
    parser = argparse.ArgumentParser(prog="main.py", description="Pretrain a BERT-style encoder with MLM.")
    parser.add_argument("config", help="YAML config, e.g. yamls/mosaic-bert-base.yaml")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. max_duration=100ba optimizer.lr=1e-4")
    args = parser.parse_args(argv)  # bad usage: argparse's one line and exit code 2
    from mosaicbert.config.loading import load_config

    from .console import setup_logging
    from .pretrain import pretrain
    from .schema import PretrainConfig

    setup_logging()

    def run() -> None:
        cfg = load_config(args.config, args.overrides, PretrainConfig)
        setup_logging(cfg.resolved_log_file)
        pretrain(cfg)

    return run_entry_point("main.py", run)
