"""Training-step throughput, model FLOPs utilisation and peak memory of every model family, side by side (each
family's variants, ``NetworkFamily.variants``: MosaicBERT with its GeGLU and with an MLP).

One process measures every (workload, model, precision) configuration on the same batches of real text:
a full optimizer step (forward, loss, backward, DecoupledAdamW step) through the recipe's ComposerModels,
configurations interleaved step by step (the order rotates every round) so their ratios hold on a noisy
machine, medians over the measured steps after warm-up. Between the rounds it samples the machine's matmul peak
(fp32 and bf16) and divides each step's model FLOPs by the median sample (MFU). It also times the recipe's
data loader. Workloads:

- ``news128`` / ``news512``: pretraining batches as the recipe builds them: bundled news articles tokenized,
  truncated and padded to the sequence length, 30% MLM masking.
- ``packed1024`` / ``packed2048``: long-context pretraining batches: whole news articles packed into rows of
  1,024 / 2,048 tokens by ``convert_dataset.py --pack_documents`` and read by the recipe's loader, 30% masking.
  Each model runs them three ways: ``boundaries`` (each document its own sequence: per-document cu_seqlens for
  MosaicBERT, a block-diagonal mask for hf_bert), ``cross`` (a packed row is one sequence, attention crosses
  documents) and ``padded`` (the same documents one per row, padded to the row length).
- ``glue``: sentence pairs (consecutive sentences of the articles, GLUE-like lengths), 3-way classification;
  transformers' dynamic padding (pad to the batch's longest pair) for every model, and ``hf_bert`` also
  padded to 128 and to 256 (the original GLUE recipe's ``padding="max_length"``).

    python benchmarks/model_throughput.py [--workloads news128 news512 packed1024 packed2048 glue] [--models hf_bert mosaic_glu mosaic_mlp]
        [--precisions fp32 bf16] [--steps 5] [--warmup 2] [--shape base] [--out docs/benchmarks/model-throughput]
        [--profile] [--no-loader] [--peak-tokens 4096]

Writes ``<out>.json`` and ``<out>.md`` (table, date, machine); ``--profile`` adds one profiled step per
configuration (top operators by self CPU time) to ``<out>-profiles.txt``.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import random
import re
import shutil
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.distributed._tools.mem_tracker import MemTracker  # private API: the one peak-memory tracker for CPU

from mosaicbert.architecture import IGNORE_INDEX
from mosaicbert.architecture.padding import DOCUMENT_IDS, sequence_lengths
from mosaicbert.config.components import build_optimizer
from mosaicbert.data.conversion import ConversionOptions, convert_split
from mosaicbert.data.loaders import build_mlm_dataloader
from mosaicbert.data.masking import MLMMasker
from mosaicbert.data.news import load_news_articles
from mosaicbert.data.sources import open_source
from mosaicbert.measurement.machine import describe, machine_info
from mosaicbert.measurement.news_batches import news_batches, pad_batch
from mosaicbert.measurement.steps import OPTIMIZER, PEAK_SHAPES, batch_flops, matmul_peak, train_step
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.precision import cpu_bf16_skip_note
from mosaicbert.tokenizer import load_tokenizer

SHAPES = {
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}
# model variant -> (family, model_config overrides): every family's variants, from the registry
MODELS = {variant: (family.name, overrides) for family in MODEL_REGISTRY.values()
          for variant, overrides in family.measured_variants().items()}
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
PACKED_POLICIES = ["boundaries", "cross", "padded"]
NUM_LABELS = 3


@dataclass
class Workload:
    """Batches of one kind of data, and how each model variant is fed them (padding policy)."""

    name: str
    task: str  # "mlm" or "classification"
    batches: list[dict[str, torch.Tensor]]
    policies: dict[str, list[str]]  # model variant -> padding policies it runs with
    description: str
    model_config: dict = field(default_factory=dict)  # overrides every model of the workload needs


@dataclass
class Config:
    """One measured configuration and its per-step figures."""

    workload: str
    model: str
    padding: str
    precision: str
    seconds: list[float] = field(default_factory=list)  # per measured step
    batch_indices: list[int] = field(default_factory=list)  # the workload batch each measured step trained on
    peak_memory: int = 0

    @property
    def label(self) -> str:
        return f"{self.workload}/{self.model}/{self.padding}/{self.precision}"


def news_workload(tokenizer, articles: list[str], seq_len: int, batch_size: int, count: int) -> Workload:
    """Pretraining batches: articles truncated and padded to ``seq_len`` (as the recipe's dataset), 30% masked."""
    return Workload(f"news{seq_len}", "mlm", news_batches(tokenizer, articles, seq_len, batch_size, count),
                    {name: ["recipe"] for name in MODELS},
                    f"news articles truncated/padded to {seq_len}, batch {batch_size}, 30% masking")


def packed_workload(tokenizer, seq_len: int, batch_size: int, count: int) -> Workload:
    """Long-context batches through the recipe's path: news train articles packed whole into ``seq_len``-token rows
    (``--pack_documents``), read by the MLM loader (document ids kept), 30% masked."""
    masker = MLMMasker(tokenizer, rate=0.30, seed=17)
    root = tempfile.mkdtemp(prefix="packed-bench-")
    atexit.register(shutil.rmtree, root, True)  # at exit: Streaming's shard thread may still read it until then
    convert_split(open_source("news", ["train"])["train"], Path(root) / "train",
                  ConversionOptions(tokenizer="bert-base-uncased", pack_documents=seq_len, compression=None,
                                    max_docs=3 * seq_len * batch_size * count // 700 + 32, workers=0,
                                    progress=False, overwrite=True))
    spec = build_mlm_dataloader({"local": root, "split": "train", "shuffle": False, "num_canonical_nodes": 1},
                                tokenizer, seq_len, batch_size, masker)
    batches = [masker(batch) for _, batch in zip(range(count), spec.dataloader)]
    documents = sum(len(sequence_lengths(b["attention_mask"], b[DOCUMENT_IDS])) for b in batches)
    rows = sum(len(b["input_ids"]) for b in batches)
    return Workload(f"packed{seq_len}", "mlm", batches, {name: PACKED_POLICIES for name in MODELS},
                    f"news articles packed whole into {seq_len}-token rows ({documents / rows:.1f} documents per "
                    f"row), batch {batch_size}, 30% masking", {"max_position_embeddings": seq_len})


def one_document_per_row(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The documents of packed rows, each in its own row padded to the row length (labels carried along)."""
    documents, labels = [], []
    for ids, row_labels, row_documents in zip(batch["input_ids"], batch["labels"], batch[DOCUMENT_IDS]):
        for document in row_documents[row_documents > 0].unique_consecutive():
            documents.append(ids[row_documents == document].tolist())
            labels.append(row_labels[row_documents == document])
    padded = pad_batch(documents, batch["input_ids"].shape[1])
    padded["labels"] = torch.full_like(padded["input_ids"], IGNORE_INDEX)
    for row, row_labels in enumerate(labels):
        padded["labels"][row, :len(row_labels)] = row_labels
    return padded


def sentence_pairs(articles: list[str], count: int, seed: int = 0) -> list[tuple[str, str]]:
    """Pairs of consecutive sentences (4 to 40 words) from the articles: GLUE-like premise/hypothesis lengths."""
    pairs = []
    for article in articles:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", article) if 4 <= len(s.split()) <= 40]
        pairs.extend(zip(sentences[0::2], sentences[1::2]))
    random.Random(seed).shuffle(pairs)
    return pairs[:count]


def glue_workload(tokenizer, articles: list[str], batch_size: int, count: int, hf_padding: list[str]) -> Workload:
    """Sentence-pair classification batches, kept unpadded; padding happens per policy when a batch is fed."""
    pairs = sentence_pairs(articles, batch_size * count)
    encoded = tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation=True, max_length=128)
    generator = torch.Generator().manual_seed(0)
    batches = []
    for i in range(0, len(pairs), batch_size):
        ids, types = encoded["input_ids"][i:i + batch_size], encoded["token_type_ids"][i:i + batch_size]
        batch = pad_batch(ids, max(len(x) for x in ids), types)  # dynamic padding: the longest pair
        batch["labels"] = torch.randint(NUM_LABELS, (len(ids),), generator=generator)
        batches.append(batch)
    policies = {name: ["dynamic"] for name in MODELS}
    policies["hf_bert"] = hf_padding
    return Workload("glue", "classification", batches, policies,
                    f"consecutive news sentence pairs, batch {batch_size}, 3 labels")


def apply_padding(batch: dict[str, torch.Tensor], policy: str) -> dict[str, torch.Tensor]:
    """The batch as the given padding policy feeds it (``padNNN``: padded to NNN slots per row; packed rows:
    ``boundaries`` as they are, ``cross`` without document ids, ``padded`` one document per row)."""
    if policy == "cross":
        return {k: v for k, v in batch.items() if k != DOCUMENT_IDS}
    if policy == "padded":
        return one_document_per_row(batch)
    if not policy.startswith("pad"):
        return batch
    length = int(policy[3:])
    extra = length - batch["input_ids"].shape[1]
    return {k: torch.nn.functional.pad(v, (0, extra)) if v.dim() == 2 else v for k, v in batch.items()}


def peak_memory(model, optimizer, batch) -> int:
    """Peak bytes (parameters, gradients, optimizer state, activations, temporaries) during one step."""
    tracker = MemTracker()
    tracker.track_external(model, optimizer)
    with tracker, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Module is None")  # hooks of models freed by earlier workloads
        train_step(model, optimizer, batch)
    return int(tracker.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"])


def build_models(workload: Workload, shape: dict, variants: list[str]) -> dict[str, tuple]:
    """One (ComposerModel, optimizer) per model variant, same seed."""
    models = {}
    for variant in variants:
        name, overrides = MODELS[variant]
        torch.manual_seed(0)
        dropouts = MODEL_REGISTRY[name].pretraining_dropouts
        model = build_composer_model(name, workload.task,
                                     model_config={**shape, **dropouts, **workload.model_config, **overrides},
                                     num_labels=NUM_LABELS if workload.task == "classification" else None)
        optimizer = build_optimizer(OPTIMIZER, model)
        models[variant] = (model, optimizer)
    return models


def measure_workload(workload: Workload, shape: dict, variants: list[str], precisions: list[str], warmup: int,
                     steps: int, profile_sink: Callable[[str, str], None] | None,
                     peak_samples: dict[str, list[float]], peak_shapes=PEAK_SHAPES) -> tuple[list[Config], dict]:
    """Interleaved timing of every (model, padding, precision) configuration of ``workload``; every round also
    samples the matmul peak of each precision into ``peak_samples`` (same machine conditions as the steps).

    Returns the configurations and the network config of each model variant."""
    models = build_models(workload, shape, variants)
    configs = [Config(workload.name, variant, policy, precision)
               for variant in variants for policy in workload.policies[variant] for precision in precisions]
    for round_index in range(warmup + steps):
        batch = workload.batches[round_index % len(workload.batches)]
        for precision in precisions:
            peak_samples[precision].append(matmul_peak(PRECISIONS[precision] or torch.float32, peak_shapes[:1]))
        shift = round_index % len(configs)
        for config in configs[shift:] + configs[:shift]:
            model, optimizer = models[config.model]
            model.autocast_dtype = PRECISIONS[config.precision]
            fed = apply_padding(batch, config.padding)
            start = time.perf_counter()
            train_step(model, optimizer, fed)
            if round_index >= warmup:
                config.seconds.append(time.perf_counter() - start)
                config.batch_indices.append(round_index % len(workload.batches))
        print(f"  {workload.name}: round {round_index + 1}/{warmup + steps} done", flush=True)
    for config in configs:
        model, optimizer = models[config.model]
        model.autocast_dtype = PRECISIONS[config.precision]
        config.peak_memory = peak_memory(model, optimizer, apply_padding(workload.batches[0], config.padding))
        if profile_sink is not None:
            profile_sink(config.label, profile_step(model, optimizer, apply_padding(workload.batches[0],
                                                                                    config.padding)))
    return configs, {variant: model.model.config for variant, (model, _) in models.items()}


def profile_step(model, optimizer, batch) -> str:
    """Top operators by self CPU time of one training step."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        train_step(model, optimizer, batch)
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)


def summarize(config: Config, workload: Workload, models_config: dict, peaks: dict[str, float]) -> dict:
    """Per-step rates of one configuration (each measured step with the batch it trained on), as medians."""
    peak = peaks[config.precision]
    steps = []
    for seconds, index in zip(config.seconds, config.batch_indices):
        fed = apply_padding(workload.batches[index], config.padding)
        real, slots = float(fed["attention_mask"].sum()), float(fed["input_ids"].numel())
        family = MODEL_REGISTRY[MODELS[config.model][0]]
        executed, needed = batch_flops(family.flop_shape(models_config[config.model]), fed, workload.task)
        steps.append({"step_seconds": seconds, "samples_per_s": fed["input_ids"].shape[0] / seconds,
                      "real_tokens_per_s": real / seconds, "padded_slots_per_s": slots / seconds,
                      "padding_fraction": 1.0 - real / slots, "packing_efficiency": real / slots,
                      "executed_tflops": executed / seconds / 1e12,
                      "mfu": executed / seconds / peak, "useful_mfu": needed / seconds / peak})
    medians = {key: statistics.median(step[key] for step in steps) for key in steps[0]}
    for key in ("padding_fraction", "packing_efficiency"):
        medians[key] = statistics.mean(step[key] for step in steps)
    return {"workload": config.workload, "model": config.model, "padding": config.padding,
            "precision": config.precision, **medians, "step_seconds_all": config.seconds,
            "peak_memory_mb": config.peak_memory / 2**20}


def loader_throughput(tokenizer, seq_len: int, batch_size: int, batches: int = 60) -> float:
    """Samples/s of the recipe's dataloader (raw-text MDS shards of the news train split, tokenized and masked in
    the training process: ``num_workers=0``, the slowest layout) at ``seq_len``."""
    with tempfile.TemporaryDirectory(prefix="loader-bench-") as root:
        convert_split(open_source("news", ["train"])["train"], Path(root) / "train",
                      ConversionOptions(compression=None, progress=False, overwrite=True))
        spec = build_mlm_dataloader({"local": root, "split": "train", "num_workers": 0}, tokenizer, seq_len,
                                    batch_size, MLMMasker(tokenizer, 0.3))
        start, samples = time.perf_counter(), 0
        for _, batch in zip(range(batches), spec.dataloader):
            samples += len(spec.microbatch_transforms(batch)["input_ids"])
        return samples / (time.perf_counter() - start)


def markdown(results: list[dict], info: dict) -> str:
    """The results table with ratios to ``hf_bert`` (first padding policy) of the same workload and precision."""
    lines = [f"# Model throughput ({info['date']})", "",
             f"Machine: {describe(info['machine'])}.",
             "Matmul peak (median of the samples taken between the steps; range in brackets): " + ", ".join(
                 f"{name} {peak / 1e9:.0f} GFLOP/s ({min(info['peak_flops_samples'][name]) / 1e9:.0f}-"
                 f"{max(info['peak_flops_samples'][name]) / 1e9:.0f})" for name, peak in info["peak_flops"].items())
             + f". Shape {info['shape']}; "
             f"{info['warmup']} warm-up + {info['steps']} measured steps per configuration, interleaved; medians.",
             ""]
    for name, description in info["workloads"].items():
        lines.append(f"- `{name}`: {description}")
    if info.get("loader_samples_per_s"):
        fastest = max((r for r in results if r["workload"] == "news128"), key=lambda r: r["samples_per_s"],
                      default=None)
        ratio = f" = {info['loader_samples_per_s'] / fastest['samples_per_s']:.0f}x the fastest news128 training " \
                f"step ({fastest['model']} {fastest['precision']})" if fastest else ""
        lines.append(f"- data loader (raw-text MDS, tokenized and masked in the training process, seq 128): "
                     f"{info['loader_samples_per_s']:.0f} samples/s{ratio}")
    lines += ["", "| workload | model | padding | precision | step s | samples/s | real tok/s | real/slots | "
                  "vs hf_bert | vs fp32 | MFU | useful MFU | peak MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        base = next((x for x in results if x["workload"] == r["workload"] and x["model"] == "hf_bert"
                     and x["precision"] == r["precision"]), None)
        vs_hf = f"{r['real_tokens_per_s'] / base['real_tokens_per_s']:.2f}x" if base else "-"
        fp32 = next((x for x in results if x["workload"] == r["workload"] and x["model"] == r["model"]
                     and x["padding"] == r["padding"] and x["precision"] == "fp32"), None)
        vs_fp32 = f"{r['real_tokens_per_s'] / fp32['real_tokens_per_s']:.2f}x" if fp32 else "-"
        lines.append(
            f"| {r['workload']} | {r['model']} | {r['padding']} | {r['precision']} | {r['step_seconds']:.2f} | "
            f"{r['samples_per_s']:.2f} | {r['real_tokens_per_s']:.0f} | {r['packing_efficiency']:.1%} | "
            f"{vs_hf} | {vs_fp32} | {r['mfu']:.1%} | "
            f"{r['useful_mfu']:.1%} | {r['peak_memory_mb']:.0f} |")
    lines += ["", "MFU: FLOPs the model executes (hf_bert: every padded slot and the MLM decoder on every slot; "
                  "mosaic_bert: real tokens, decoder on masked tokens) per second over the measured matmul peak of "
                  "the precision. Useful MFU: only the FLOPs the architecture needs for the real tokens. "
                  "'vs hf_bert' compares real tokens/s with hf_bert's first padding policy (dynamic for glue, "
                  "boundaries for packed). real/slots: the packing efficiency (real tokens over token slots)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["news128", "news512", "glue"],
                        choices=["news128", "news512", "packed1024", "packed2048", "glue"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS))
    parser.add_argument("--shape", choices=SHAPES, default="base")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (allocator, caches)")
    parser.add_argument("--steps", type=int, default=5, help="measured rounds (median reported)")
    parser.add_argument("--batch-128", type=int, default=8, help="batch size of news128")
    parser.add_argument("--batch-512", type=int, default=2, help="batch size of news512")
    parser.add_argument("--batch-packed", type=int, default=1, help="batch size of packed1024 and packed2048")
    parser.add_argument("--batch-glue", type=int, default=16, help="batch size of glue")
    parser.add_argument("--hf-glue-padding", nargs="+", default=["dynamic", "pad128", "pad256"],
                        help="padding policies hf_bert runs glue with (dynamic first: the ratios' baseline)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--out", default="docs/benchmarks/model-throughput", help="output path without suffix")
    parser.add_argument("--profile", action="store_true", help="also write a profiler table per configuration")
    parser.add_argument("--no-loader", action="store_true", help="skip the data loader measurement")
    parser.add_argument("--peak-tokens", type=int, default=PEAK_SHAPES[0][0],
                        help="rows of the peak-measuring matmuls (smaller: a quick, lower peak for smoke runs)")
    args = parser.parse_args()
    peak_shapes = tuple((min(tokens, args.peak_tokens), d_in, d_out) for tokens, d_in, d_out in PEAK_SHAPES)
    torch.set_num_threads(args.threads)
    if "bf16" in args.precisions and (note := cpu_bf16_skip_note()):
        print(note, flush=True)
        args.precisions = [p for p in args.precisions if p != "bf16"]
        if not args.precisions:
            return

    peak_samples = {name: [matmul_peak(PRECISIONS[name] or torch.float32, peak_shapes)] for name in args.precisions}
    print("matmul peak: " + ", ".join(f"{k} {v[0] / 1e9:.0f} GFLOP/s" for k, v in peak_samples.items()), flush=True)
    tokenizer = load_tokenizer("bert-base-uncased")
    articles = load_news_articles()
    random.Random(17).shuffle(articles)
    rounds = args.warmup + args.steps
    builders = {
        "news128": lambda: news_workload(tokenizer, articles, 128, args.batch_128, rounds),
        "news512": lambda: news_workload(tokenizer, articles, 512, args.batch_512, rounds),
        "packed1024": lambda: packed_workload(tokenizer, 1024, args.batch_packed, rounds),
        "packed2048": lambda: packed_workload(tokenizer, 2048, args.batch_packed, rounds),
        "glue": lambda: glue_workload(tokenizer, articles, args.batch_glue, rounds, args.hf_glue_padding),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    profiles: list[str] = []
    sink = (lambda label, table: profiles.append(f"## {label}\n{table}\n")) if args.profile else None
    measured, descriptions = [], {}
    for name in args.workloads:
        workload = builders[name]()
        descriptions[name] = workload.description
        configs, network_configs = measure_workload(workload, SHAPES[args.shape], args.models, args.precisions,
                                                    args.warmup, args.steps, sink, peak_samples, peak_shapes)
        measured.append((workload, configs, network_configs))
    # This shared VM's matmul speed drifts (bf16 samples of one run here: 480 to 890 GFLOP/s), so MFU divides by
    # the median of the peaks sampled between the steps, i.e. under the conditions the steps ran in.
    peaks = {name: statistics.median(samples) for name, samples in peak_samples.items()}
    results = [summarize(c, workload, network_configs, peaks)
               for workload, configs, network_configs in measured for c in configs]
    loader = None if args.no_loader else loader_throughput(tokenizer, 128, args.batch_128)
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loader_samples_per_s": loader,
            "machine": machine_info(), "peak_flops": peaks, "peak_flops_samples": peak_samples, "shape": args.shape,
            "warmup": args.warmup, "steps": args.steps, "workloads": descriptions}
    report = markdown(results, info)
    print(report)
    out.with_suffix(".json").write_text(json.dumps({**info, "results": results}, indent=1))
    out.with_suffix(".md").write_text(report)
    if profiles:
        Path(f"{out}-profiles.txt").write_text("\n".join(profiles))


if __name__ == "__main__":
    main()
