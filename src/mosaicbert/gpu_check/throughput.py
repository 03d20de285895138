"""Training tokens/s and MFU of every family in ``MODEL_REGISTRY`` at base shape, seq 128 and 512: full optimizer
steps (DecoupledAdamW, bf16 autocast; fp32 in the CPU dry run) on the recipe's news batches, all configurations interleaved step by step
in this process, against the matmul peak of that dtype sampled between the rounds. The batches, FLOP counts, step and
peak are ``mosaicbert.measurement``'s, as in ``benchmarks/model_throughput.py`` (the CPU reference measurement)."""

from __future__ import annotations

import random
import statistics

import torch

from mosaicbert.config.components import build_optimizer
from mosaicbert.data.news import load_news_articles
from mosaicbert.measurement.news_batches import news_batches
from mosaicbert.measurement.steps import OPTIMIZER, batch_flops, matmul_peak, train_step
from mosaicbert.measurement.timing import timed
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.tokenizer import load_tokenizer

from .profiles import Profile, autocast_dtype
from .report import Row, row

CHECK = "throughput"


def run(profile: Profile, work_dir) -> list[Row]:
    device = torch.device(profile.device)
    rounds = profile.throughput_warmup + profile.throughput_steps
    tokenizer, articles = load_tokenizer("bert-base-uncased"), load_news_articles()
    random.Random(17).shuffle(articles)
    workloads = {seq: news_batches(tokenizer, articles, seq, batch, rounds)
                 for seq, batch in profile.throughput_batches.items()}
    models = {}
    for name, family in MODEL_REGISTRY.items():
        torch.manual_seed(0)
        model = build_composer_model(name, "mlm",
                                     model_config={**profile.throughput_shape, **family.pretraining_dropouts},
                                     autocast_dtype=autocast_dtype(profile)).to(device)
        models[name] = (model, build_optimizer(OPTIMIZER, model))
    configs = [(seq, name) for seq in workloads for name in models]
    seconds = {config: [] for config in configs}
    peaks = []
    for round_index in range(rounds):
        peaks.append(matmul_peak(autocast_dtype(profile) or torch.float32, profile.peak_shapes, device=profile.device))
        shift = round_index % len(configs)
        for seq, name in configs[shift:] + configs[:shift]:
            model, optimizer = models[name]
            batch = {k: v.to(device) for k, v in workloads[seq][round_index % rounds].items()}
            step = timed(lambda: train_step(model, optimizer, batch), device)
            if round_index >= profile.throughput_warmup:
                seconds[(seq, name)].append((step, round_index))
    peak = statistics.median(peaks)
    rows = [row(CHECK, f"{profile.dtype or 'float32'} matmul peak", peak > 0, f"{peak / 1e9:,.0f} GFLOP/s (median of {len(peaks)} samples, "
                f"{min(peaks) / 1e9:,.0f}-{max(peaks) / 1e9:,.0f})", peak_flops=peak, samples=peaks)]
    for seq, name in configs:
        shape = MODEL_REGISTRY[name].flop_shape(models[name][0].model.config)
        tokens, mfu = [], []
        for step, round_index in seconds[(seq, name)]:
            batch = workloads[seq][round_index % rounds]
            executed, _ = batch_flops(shape, batch, "mlm")
            tokens.append(float(batch["attention_mask"].sum()) / step)
            mfu.append(executed / step / peak)
        tokens_per_s, median_mfu = statistics.median(tokens), statistics.median(mfu)
        ok = tokens_per_s > 0 and 0 < median_mfu < 1  # above 1: the steps were not timed to their end
        rows.append(row(CHECK, f"{name} seq {seq}", ok,
                        f"{tokens_per_s:,.0f} real tokens/s, MFU {median_mfu:.1%} (batch "
                        f"{profile.throughput_batches[seq]}, median of {len(tokens)} steps)",
                        real_tokens_per_s=tokens_per_s, mfu=median_mfu,
                        step_seconds=[s for s, _ in seconds[(seq, name)]]))
    return rows
