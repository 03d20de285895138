"""Held-out MLM of a checkpoint by input length: ``python evaluate_mlm.py MODEL --data DIR_OR_FILE --lengths 128 512``.

One table row per length (documents, samples, real and masked tokens, cross-entropy, masked accuracy), ``--out``
for JSON; ``--whole_words`` adds nats per masked word on words chosen on the text (compares vocabularies). The
studies score their arms with the same code (``src/mosaicbert/evaluation/``).
"""

import sys

from mosaicbert.evaluation.cli import evaluate_mlm_cli

if __name__ == "__main__":
    sys.exit(evaluate_mlm_cli())
