"""Contrastive fine-tuning of any checkpoint's encoder into a sentence-transformers model, then its STS score.

    python sentence_embeddings.py yamls/finetuning/sentence-embeddings.yaml data.train_file=... model.init_from=...
"""

import sys

from mosaicbert.embeddings.cli import sentence_embeddings_main

if __name__ == "__main__":
    sys.exit(sentence_embeddings_main(sys.argv[1:]))
