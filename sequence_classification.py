"""Fine-tune on your own CSV/JSONL (text, optional text_pair, label), evaluate, export to Hugging Face.

    python sequence_classification.py yamls/finetuning/sequence-classification.yaml [key=value ...]
"""

import sys

from mosaicbert.glue.cli import own_data_main

if __name__ == "__main__":
    sys.exit(own_data_main(sys.argv[1:]))
