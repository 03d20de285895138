"""Command lines of ``sentence_embeddings.py`` and ``evaluate_embeddings.py``; exit codes: ``mosaicbert.exit_codes``.

``--help`` answers before anything heavy loads (torch, transformers, sentence-transformers, Composer).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mosaicbert import exit_codes

TRAIN_USAGE = ("usage: python sentence_embeddings.py CONFIG.yaml [key=value ...]   "
               "e.g. yamls/finetuning/sentence-embeddings.yaml")


class UsageError(ValueError):
    """A command-line argument names nothing usable; nothing has run yet."""

    exit_code = exit_codes.USAGE


def sentence_embeddings_main(argv: Sequence[str]) -> int:
    """Contrastive fine-tuning; 0 on success, 1 for bad data or weights, 2 for a bad config."""
    if not argv or argv[0] in ("-h", "--help"):
        print(TRAIN_USAGE, file=sys.stderr if not argv else sys.stdout)
        return exit_codes.USAGE if not argv else exit_codes.OK

    def run() -> None:
        from mosaicbert.config.loading import load_config
        from mosaicbert.embeddings.config import SentenceEmbeddingsConfig
        from mosaicbert.embeddings.run import train_sentence_embeddings

        train_sentence_embeddings(load_config(argv[0], argv[1:], SentenceEmbeddingsConfig))

    return exit_codes.run_entry_point("sentence_embeddings.py", run)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluate_embeddings.py",
        description="Score an embedding model (a sentence-transformers folder with its own pooling, or any Hugging "
                    "Face encoder, mean-pooled) on STS and/or retrieval.")
    parser.add_argument("model", help="sentence-transformers folder, Hugging Face directory or Hub name")
    parser.add_argument("--sts", metavar="FILE", help="CSV/TSV/JSONL with sentence1, sentence2, score (0-5 or 0-1)")
    parser.add_argument("--retrieval", metavar="DIR", help="BEIR layout: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv")
    parser.add_argument("--split", default="test", help="the qrels file of --retrieval (default: test)")
    parser.add_argument("--json", metavar="FILE", help="write the scores as JSON")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-seq-length", type=int, default=None, help="default: the model's own")
    return parser


def _evaluate(args: argparse.Namespace) -> dict:
    from mosaicbert.embeddings.beir import read_retrieval_set
    from mosaicbert.embeddings.loading import load_embedding_model
    from mosaicbert.embeddings.pairs import read_text_rows
    from mosaicbert.embeddings.scoring import retrieval_scores, sts_spearman

    sts = read_text_rows(args.sts) if args.sts else None
    retrieval = read_retrieval_set(args.retrieval, args.split) if args.retrieval else None
    try:
        model = load_embedding_model(args.model, max_seq_length=args.max_seq_length)
    except OSError as err:  # neither a folder nor a Hub name reachable from here
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"model: could not load {args.model!r} ({reason})") from None
    results: dict = {}
    if sts is not None:
        results["sts"] = {"spearman": sts_spearman(model, sts, batch_size=args.batch_size)}
        print(f"STS Spearman {100 * results['sts']['spearman']:.2f} ({len(sts)} pairs, {sts.source})")
    if retrieval is not None:
        results["retrieval"] = retrieval_scores(model, retrieval, batch_size=args.batch_size)
        print("retrieval " + ", ".join(f"{k} {100 * v:.2f}" for k, v in results["retrieval"].items())
              + f" ({len(retrieval.qrels)} queries, {len(retrieval.corpus)} documents, {retrieval.source})")
    return results


def evaluate_embeddings_main(argv: Sequence[str]) -> int:
    """STS and retrieval scores; 0 on success, 1 for bad data, 2 for bad usage."""
    args = _parser().parse_args(argv)  # argparse exits 2 on bad usage itself

    def run() -> None:
        if not (args.sts or args.retrieval):
            raise UsageError("give --sts FILE and/or --retrieval DIR")
        for flag, value, kind in (("--sts", args.sts, "file"), ("--retrieval", args.retrieval, "directory")):
            if value and not (Path(value).is_file() if kind == "file" else Path(value).is_dir()):
                raise UsageError(f"{flag}: no such {kind} {value!r}")
        if args.batch_size < 1:
            raise UsageError(f"--batch-size: must be at least 1, got {args.batch_size}")
        local = Path(args.model).expanduser()
        if (local.is_absolute() or args.model.startswith(".")) and not local.exists():
            raise UsageError(f"model: no such directory {args.model!r}")
        results = _evaluate(args)
        if args.json:
            from mosaicbert.atomic_write import write_text_atomically

            write_text_atomically(Path(args.json), json.dumps(results, indent=2) + "\n")

    return exit_codes.run_entry_point("evaluate_embeddings.py", run)
