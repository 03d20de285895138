"""Pretrain a BERT-style encoder with MLM: ``composer main.py CONFIG.yaml [key=value ...]``.

Also runs as ``python main.py CONFIG.yaml ...`` (one process) and ``composer -n N main.py ...`` (N ranks).
YAML keys: ``src/mosaicbert/training/schema.py``; recipes: ``yamls/``.
"""

import sys

from mosaicbert.training.cli import pretrain_cli

if __name__ == "__main__":
    sys.exit(pretrain_cli())
