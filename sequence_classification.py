"""Fine-tune on your own CSV/JSONL (text, optional text_pair, label), evaluate, export to Hugging Face.

    python sequence_classification.py yamls/finetuning/sequence-classification.yaml [key=value ...]
"""

import sys

from mosaicbert.finetune.cli import custom_task_main

if __name__ == "__main__":
    sys.exit(custom_task_main(sys.argv[1:]))
