"""Held-out MLM of a checkpoint by input length: ``python evaluate_mlm.py MODEL --data DIR_OR_FILE --lengths 128 512``.

One table row per length (documents, samples, real and masked tokens, cross-entropy, masked accuracy), ``--out``
for JSON. The quality study scores its arms with the same code (``src/mosaicbert/evaluation/``).
"""

import sys

from mosaicbert.evaluation.cli import evaluate_mlm_cli

if __name__ == "__main__":
    sys.exit(evaluate_mlm_cli())
