"""Score an embedding model on STS (Spearman) and BEIR-layout retrieval (nDCG@10, MRR@10, Recall@100).

    python evaluate_embeddings.py MODEL --sts FILE --retrieval DIR [--json FILE]
"""

import sys

from mosaicbert.embeddings.cli import evaluate_embeddings_main

if __name__ == "__main__":
    sys.exit(evaluate_embeddings_main(sys.argv[1:]))
