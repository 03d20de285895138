"""Learn a vocabulary (WordPiece or byte-level BPE) from any corpus convert_dataset.py reads; see --help.

    python train_tokenizer.py --source files --files train=corpus.jsonl --vocab_size 32768 --out tokenizers/mine
"""

from __future__ import annotations

import sys

from mosaicbert.tokenization.cli import train_tokenizer_main

if __name__ == "__main__":
    sys.exit(train_tokenizer_main())
