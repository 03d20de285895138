"""The command line both studies share: ``SCRIPT CONFIG [key=value ...]``, a bad config is one line and exit 2."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from typing import Callable

from mosaicbert.config.loading import ConfigError, load_config


def study_main(argv: list[str] | None, description: str, script: str, config_class: type,
               run: Callable[[object, str], object], example: str) -> int:
    """Parse, load ``config_class`` from the YAML and overrides, ``run(config, command)``; 0 done, 2 bad config."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="study YAML (yamls/study/)")
    parser.add_argument("overrides", nargs="*", help=f"key=value, e.g. {example}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        study = load_config(args.config, args.overrides, config_class)
        run(study, f"python {script} " + shlex.join([args.config, *args.overrides]))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
