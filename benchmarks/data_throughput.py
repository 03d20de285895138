"""Data pipeline throughput on the bundled news corpus: conversion speed and dataloader samples/s.

Conversion: the news train split to MDS as raw text and as pre-tokenized bert-base-uncased ids
(documents/s and tokens/s, the latter with ``--workers`` tokenizer processes). Dataloading: full epochs of
the text and the token-id shards at ``--seq`` through ``build_mlm_dataloader`` with 0 and 2 workers,
with and without the (CPU) masking the main process adds, in samples/s. With 0 workers one process does all
the loading: its loader-only rate is one loader worker's, and ``<layout>_workers_per_gpu`` is how many workers
feed one GPU at ``--target`` samples/s (the base recipe's 8xA100 pace is ~8,800 per GPU; masking runs on the GPU).

    python benchmarks/data_throughput.py [--seq 128] [--batch-size 32] [--workers 2] [--target 8800] [--out_root DIR]
        [--max-docs N] [--loader-workers 0 2]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

from mosaicbert.data.conversion import ConversionOptions, convert_split
from mosaicbert.data.loaders import build_mlm_dataloader
from mosaicbert.data.masking import MLMMasker
from mosaicbert.data.sources import open_source
from mosaicbert.tokenizer import load_tokenizer


def conversion(out_root: Path, workers: int, max_docs: int | None = None) -> dict[str, dict[str, float]]:
    results = {}
    for layout, tokenizer in (("text", None), ("tokens", "bert-base-uncased")):
        summary = convert_split(open_source("news", ["train"])["train"], out_root / layout / "train",
                                ConversionOptions(tokenizer=tokenizer, workers=workers, compression=None,
                                                  progress=False, overwrite=True, max_docs=max_docs))
        results[layout] = {"documents": summary.documents, "tokens": summary.tokens, "seconds": summary.seconds,
                           "docs_per_s": summary.documents / summary.seconds,
                           "tokens_per_s": summary.tokens / summary.seconds}
    return results


def dataloading(out_root: Path, seq: int, batch_size: int, target: float,
                loader_workers: tuple[int, ...] = (0, 2)) -> dict[str, float]:
    tokenizer = load_tokenizer("bert-base-uncased")
    results = {}
    for layout in ("text", "tokens"):
        for workers in dict.fromkeys((0, *loader_workers)):  # 0 first: the per-GPU estimate is based on it
            spec = build_mlm_dataloader({"local": str(out_root / layout), "split": "train", "num_workers": workers},
                                        tokenizer, seq, batch_size, MLMMasker(tokenizer, 0.3))
            start, samples, masking = time.perf_counter(), 0, 0.0
            for batch in spec.dataloader:
                masked_at = time.perf_counter()
                samples += len(spec.microbatch_transforms(batch)["input_ids"])
                masking += time.perf_counter() - masked_at
            seconds = time.perf_counter() - start
            results[f"{layout}_workers{workers}_samples_per_s"] = samples / seconds
            # what the workers do (masking runs in the main process, on the GPU in training)
            results[f"{layout}_workers{workers}_loader_only_samples_per_s"] = samples / (seconds - masking)
        results[f"{layout}_workers_per_gpu"] = math.ceil(target / results[f"{layout}_workers0_loader_only_samples_per_s"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="tokenizer processes for the conversion")
    parser.add_argument("--target", type=float, default=8800.0, help="samples/s one GPU consumes")
    parser.add_argument("--out_root", type=Path, help="where to write the shards (default: a temporary directory)")
    parser.add_argument("--max-docs", type=int, help="convert only the first N train articles (quick smoke runs)")
    parser.add_argument("--loader-workers", type=int, nargs="+", default=[0, 2],
                        help="dataloader worker counts to time (0 is always timed)")
    args = parser.parse_args()
    out_root = args.out_root or Path(tempfile.mkdtemp(prefix="data-bench-"))
    try:
        report = {"conversion": conversion(out_root, args.workers, args.max_docs),
                  "dataloader": dataloading(out_root, args.seq, args.batch_size, args.target,
                                            tuple(args.loader_workers))}
    finally:
        if args.out_root is None:
            shutil.rmtree(out_root, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
