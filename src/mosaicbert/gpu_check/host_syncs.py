"""Unpadding's host syncs on the device: MosaicBERT training steps at the throughput shape, seq 128, with the old
exact ``max_seqlen`` (the longest sequence read back to the host every forward) and with the upper bound used now,
interleaved on the same batches, plus the host-syncing calls of one step, measured by
``mosaicbert.measurement.host_syncs`` (as ``benchmarks/host_syncs.py``, the CPU reference run). It passes when the
upper bound removes exactly that sync; the step times are reported, not judged: a sync stalls a GPU's queue and
costs a CPU nothing."""

from __future__ import annotations

import random
import statistics

import torch

from mosaicbert.architecture.attention import resolve_attention_backend
from mosaicbert.config.components import build_optimizer
from mosaicbert.data.news import load_news_articles
from mosaicbert.measurement.host_syncs import compare_variants
from mosaicbert.measurement.news_batches import news_batches
from mosaicbert.measurement.steps import OPTIMIZER
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.tokenizer import load_tokenizer

from .profiles import Profile, autocast_dtype
from .report import Row, row

CHECK = "host_syncs"
SEQ_LEN = 128


def run(profile: Profile, work_dir) -> list[Row]:
    device = torch.device(profile.device)
    tokenizer, articles = load_tokenizer("bert-base-uncased"), load_news_articles()
    random.Random(17).shuffle(articles)
    batch_size, rounds = profile.throughput_batches[SEQ_LEN], profile.throughput_warmup + profile.throughput_steps
    batches = [{key: value.to(device) for key, value in batch.items()}
               for batch in news_batches(tokenizer, articles, SEQ_LEN, batch_size, rounds)]
    torch.manual_seed(0)
    dropouts = MODEL_REGISTRY["mosaic_bert"].pretraining_dropouts
    model = build_composer_model("mosaic_bert", "mlm", model_config={**profile.throughput_shape, **dropouts},
                                 autocast_dtype=autocast_dtype(profile)).to(device)
    measured = compare_variants(model, build_optimizer(OPTIMIZER, model), batches, device,
                                profile.throughput_warmup, profile.throughput_steps)
    (before_name, before), (now_name, now) = measured.items()
    removed = len(before["sync_calls"]) - len(now["sync_calls"])
    ok = "__int__" in before["sync_calls"] and "__int__" not in now["sync_calls"] and removed == 1
    seconds = {name: statistics.median(result["step_s"]) for name, result in measured.items()}
    ratio = seconds[before_name] / seconds[now_name]
    backend = resolve_attention_backend(model.model.config.attention_backend, device)
    return [row(CHECK, f"mosaic_bert seq {SEQ_LEN} ({backend})", ok,
                f"step {seconds[before_name] * 1e3:,.1f} ms with the exact max_seqlen, {seconds[now_name] * 1e3:,.1f} "
                f"ms with the upper bound ({ratio:.3f}x); host syncs per step {len(before['sync_calls'])} -> "
                f"{len(now['sync_calls'])} ({', '.join(now['sync_calls'])})",
                backend=backend, ratio_before_over_now=ratio, median_step_s=seconds,
                sync_calls={name: result["sync_calls"] for name, result in measured.items()},
                step_seconds={name: result["step_s"] for name, result in measured.items()})]
