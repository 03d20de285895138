"""Fine-tune on word-tagged sentences (NER, POS, chunking: CoNLL columns or JSONL/CSV), score entities, export.

    python token_classification.py yamls/finetuning/token-classification.yaml [key=value ...]
"""

import sys

from mosaicbert.finetune.token_classification.cli import token_classification_main

if __name__ == "__main__":
    sys.exit(token_classification_main(sys.argv[1:]))
