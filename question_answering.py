"""Extractive question answering: fine-tune on SQuAD JSON (v1.1 / v2.0) or flat JSONL, evaluate (exact match, F1),
export to Hugging Face.

    python question_answering.py yamls/finetuning/question-answering.yaml [key=value ...]
"""

import sys

from mosaicbert.finetune.question_answering.cli import question_answering_main

if __name__ == "__main__":
    sys.exit(question_answering_main(sys.argv[1:]))
