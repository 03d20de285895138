"""Training-step time of MosaicBERT with and without the ``max_seqlen`` host sync of unpadding, side by side.

Before issue 22, ``padding_info`` read the longest sequence back to the host (``int(lengths.max())``) once per
forward pass; flash-attn needs only an upper bound, and the padded length is one without a sync. This measures
both in one process on the same batches (real news, truncated and padded to 128, 30% masking), interleaved step
by step (the order alternates), after warm-up: the median step time of each, their ratio, and the host syncs one
step makes (``mosaicbert.measurement.host_syncs``). On a CPU a sync costs nothing (there is no
queue to drain), so the ratio there is ~1; the saving is on a GPU, where ``--device cuda`` runs flash-attn.

    python benchmarks/host_syncs.py [--shape base] [--batch-size 16] [--steps 10] [--warmup 2]
        [--precisions fp32 bf16] [--device cpu] [--out docs/benchmarks/host-syncs]
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
from pathlib import Path

import torch
from model_throughput import PRECISIONS, SHAPES

from mosaicbert.architecture.attention import flash_attn_varlen_qkvpacked_func
from mosaicbert.config.components import build_optimizer
from mosaicbert.data.news import load_news_articles
from mosaicbert.measurement.host_syncs import VARIANTS, compare_variants
from mosaicbert.measurement.machine import describe, machine_info
from mosaicbert.measurement.news_batches import news_batches
from mosaicbert.measurement.steps import OPTIMIZER
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.precision import cpu_bf16_skip_note
from mosaicbert.tokenizer import load_tokenizer


def measure(args, device: torch.device, backend: str) -> list[dict]:
    tokenizer = load_tokenizer("bert-base-uncased")
    articles = load_news_articles()
    random.Random(17).shuffle(articles)
    batches = [{key: value.to(device) for key, value in batch.items()}
               for batch in news_batches(tokenizer, articles, 128, args.batch_size, args.warmup + args.steps)]
    rows = []
    for precision in args.precisions:
        torch.manual_seed(0)
        dropouts = MODEL_REGISTRY["mosaic_bert"].pretraining_dropouts
        model = build_composer_model("mosaic_bert", "mlm", model_config={
            **SHAPES[args.shape], **dropouts, "attention_backend": backend}).to(device)
        model.autocast_dtype = PRECISIONS[precision]
        measured = compare_variants(model, build_optimizer(OPTIMIZER, model), batches, device, args.warmup,
                                    args.steps, lambda text: print(f"  {precision}: {text}", flush=True))
        before, now = (statistics.median(measured[name]["step_s"]) for name in VARIANTS)
        for name, result in measured.items():
            rows.append({"precision": precision, "variant": name, "median_step_s": statistics.median(result["step_s"]),
                         "step_s": result["step_s"], "host_syncs": len(result["sync_calls"]),
                         "sync_calls": result["sync_calls"]})
        rows[-1]["ratio_before_over_now"] = before / now
    return rows


def markdown(rows: list[dict], info: dict) -> str:
    lines = [f"# Host syncs of unpadding ({info['date']})", "",
             f"Machine: {describe(info['machine'])}; device {info['device']}, attention {info['backend']}.",
             f"MosaicBERT {info['shape']} MLM, news truncated/padded to 128, batch {info['batch_size']}, 30% masking; "
             f"{info['steps']} interleaved steps per variant after {info['warmup']} warm-up rounds.", "",
             "| precision | max_seqlen | median step (s) | host syncs per step | before / now |",
             "|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{row['ratio_before_over_now']:.3f}" if "ratio_before_over_now" in row else ""
        lines.append(f"| {row['precision']} | {row['variant']} | {row['median_step_s']:.3f} | {row['host_syncs']} "
                     f"| {ratio} |")
    lines += ["", "Host-syncing calls of one step: " + "; ".join(
        f"{row['precision']} {row['variant']}: {', '.join(row['sync_calls'])}" for row in rows[:2]) + ".",
        "On CPU the sdpa backend groups sequences by length (`unique_consecutive`, `tolist`); flash-attn on a GPU "
        "needs no grouping, which leaves the two `nonzero` (real tokens, masked tokens: they set shapes)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=SHAPES, default="base")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (allocator, caches)")
    parser.add_argument("--steps", type=int, default=10, help="measured steps per variant (median reported)")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS))
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (cuda runs flash-attn where it imports)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--out", default="docs/benchmarks/host-syncs", help="output path without suffix")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cpu" and "bf16" in args.precisions and (note := cpu_bf16_skip_note()):
        print(note, flush=True)
        args.precisions = [p for p in args.precisions if p != "bf16"] or ["fp32"]
    backend = "flash_attn" if device.type == "cuda" and flash_attn_varlen_qkvpacked_func is not None else "sdpa"
    rows = measure(args, device, backend)
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_info(), "device": str(device), "backend": backend, "shape": args.shape,
            "batch_size": args.batch_size, "warmup": args.warmup, "steps": args.steps}
    report = markdown(rows, info)
    print(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({**info, "results": rows}, indent=1))
    out.with_suffix(".md").write_text(report)


if __name__ == "__main__":
    main()
