"""Command line of ``evaluate_mlm.py``; ``--help`` and bad usage answer before torch or Composer load."""

from __future__ import annotations

import argparse
from pathlib import Path

from mosaicbert.exit_codes import run_entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evaluate_mlm.py", description=(
        "Held-out MLM (cross-entropy, masked accuracy; one fixed masker: the same masks for every model) of a "
        "checkpoint at each of several input lengths. Exit codes: 0 done, 1 failed (unreadable weights or "
        "data), 2 bad usage (missing MODEL or --data, no length the model can take), 130 interrupted."))
    p.add_argument("model", metavar="MODEL", help="Composer checkpoint of this recipe, Hugging Face directory "
                   "(e.g. an export_hf_dir) or Hub name")
    p.add_argument("--data", required=True, type=Path, metavar="DIR_OR_FILE",
                   help="MDS dataset (a split folder, or a root with a 'val' split) or a .txt/.jsonl file "
                        "(packed at each length)")
    p.add_argument("--lengths", nargs="+", type=int, default=[128, 512], metavar="N",
                   help="input lengths in tokens (default: 128 512)")
    p.add_argument("--tokens", type=int, default=None,
                   help="tokens evaluated per length (samples = tokens // length, the first ones; default: all)")
    p.add_argument("--rate", type=float, default=0.15, help="masking rate (default: 0.15)")
    p.add_argument("--seed", type=int, default=17, help="masking seed (default: 17)")
    p.add_argument("--batch_size", type=int, default=16, help="samples per batch (default: 16)")
    p.add_argument("--whole_words", action="store_true",
                   help="mask whole words chosen on the text (a .txt/.jsonl --data) and report nats per masked "
                        "word, which compares across vocabularies; --rate is then a share of words")
    p.add_argument("--compare_with", nargs="+", default=[], metavar="TOKENIZER",
                   help="with --whole_words: keep only the passages these tokenizers also fit, so runs of models "
                        "with these vocabularies score the same words")
    p.add_argument("--words", type=int, default=None,
                   help="with --whole_words: words of text scored per length (the first passages; default: all)")
    p.add_argument("--words_per_passage", type=int, default=60,
                   help="with --whole_words: long documents are cut into passages of at most this many words")
    p.add_argument("--tokenizer", help="tokenizer name or path (default: the model's own)")
    p.add_argument("--device", choices=("cpu", "gpu"), help="default: gpu when CUDA is available")
    p.add_argument("--precision", default="fp32", help="fp32 (default), amp_bf16, amp_fp16 (gpu)")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    return p


def evaluate_mlm_cli(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # bad usage: argparse's one line and exit code 2

    def run() -> None:
        from mosaicbert.precision import default_device

        from .by_length import WholeWords, evaluate_by_length

        evaluate_by_length(args.model, args.data, args.lengths, tokens=args.tokens, batch_size=args.batch_size,
                           rate=args.rate, seed=args.seed, device=args.device or default_device(),
                           precision=args.precision, tokenizer=args.tokenizer, out=args.out,
                           progress=not args.no_progress,
                           whole_words=WholeWords(args.compare_with, args.words, args.words_per_passage)
                           if args.whole_words else None)

    return run_entry_point("evaluate_mlm.py", run)
