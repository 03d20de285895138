"""The sizes of a check run: the GPU profile (within 8 minutes on one H200) and the CPU dry run (under a minute on
2 cores). Only sizes, devices and stand-ins differ between the two; every check runs the same code on both."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BASE_SHAPE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
TINY_SHAPE = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128}


@dataclass(frozen=True)
class Profile:
    """Where the checks run and how big they are."""

    name: str
    device: str  # torch device type: "cuda" or "cpu"
    env: dict = field(default_factory=dict)  # extra environment of the subprocesses (main.py, glue.py)
    threads: int | None = None  # torch threads of this process (None: torch's default)
    # autocast dtype of the in-process checks (attention, throughput); None: fp32 (CPUs without native bf16
    # emulate it, ~100x slower); main.py and glue.py always get precision amp_bf16
    dtype: str | None = "bfloat16"
    conversion_workers: int | None = None  # processes converting the news to MDS (None: one per core)
    # attention: one model forward + backward per backend on real padded text
    attention_shape: dict = field(default_factory=lambda: BASE_SHAPE)
    attention_batch: tuple[int, int] = (32, 512)  # (sequences, padded length)
    # pretraining through main.py: an uninterrupted run, and one killed after its checkpoint at kill_at + restart
    pretrain_recipe: str = "yamls/mosaic-bert-small-news.yaml"
    pretrain_steps: int = 200
    kill_at: int = 100
    news_docs: int | None = None  # documents of each news split converted to MDS (None: all)
    loss_window: int = 20  # mean of the first and of the last this many losses
    min_loss_drop: float = 1.0  # the last window's mean must be this much below the first's (nats)
    # |weights - uninterrupted weights| allowed after the restart (0: bit-identical), relative to the L2 norm
    resume_tolerance: float = 0.0
    # throughput: every model family, base shape, interleaved steps
    throughput_shape: dict = field(default_factory=lambda: BASE_SHAPE)
    throughput_batches: dict = field(default_factory=lambda: {128: 128, 512: 32})  # seq len -> batch size
    throughput_warmup: int = 3
    throughput_steps: int = 10
    peak_shapes: tuple = ((16384, 8192, 8192),)  # (tokens, in, out) of the F.linear peak (in ``dtype``)
    # FSDP through main.py on every visible device
    fsdp_recipe: str = "yamls/test/mosaic-bert-tiny.yaml"
    fsdp_steps: int = 40
    cpu_world_size: int = 1  # ranks of the CPU dry run (gloo)
    # GLUE sweep through glue.py: tasks x seeds, at least one job per GPU
    glue_tasks: tuple[str, ...] = ("rte", "mrpc", "sst2", "cola")
    # compile_config: eager vs compiled losses over compile_steps
    compile_backend: str = "inductor"
    compile_shape: dict = field(default_factory=lambda: BASE_SHAPE)
    compile_batch: tuple[int, int] = (64, 128)
    compile_steps: int = 30
    compile_warmup: int = 10  # steps not timed (compilation, recompilation for new lengths)
    compile_tolerance: float = 0.05  # max |loss difference| (nats)


# Time estimate on one H200 (from the sizes; not yet measured): environment + data conversion 30 s, attention
# 15 s, pretraining 3 main.py runs of a 4-layer model (400 steps, ~25 s start-up each) 120 s, throughput
# (model builds, 6 x 13 interleaved base-size steps, peak samples) 40 s, host_syncs (2 x 13 steps) 10 s, FSDP 2 runs
# 70 s, GLUE 40 s, compile (inductor compiles forward and backward of bert-base, ~60 s, then 30 steps each way)
# 100 s: ~7 min.
GPU = Profile(
    name="gpu", device="cuda",
    # bf16 on CUDA: atomics in flash-attn's and index_add's backward make two identical runs differ in the
    # last bits; 100 steps amplify that. A first guess, to be set from the first real run (docs/gpu_check.md).
    resume_tolerance=1e-2,
)
CPU_DRY_RUN = Profile(
    name="cpu-dry-run", device="cpu",
    env={"OMP_NUM_THREADS": "1"},  # one thread per process: the killed and the uninterrupted runs add alike
    threads=1, dtype=None, conversion_workers=1,
    attention_shape=TINY_SHAPE, attention_batch=(6, 64),
    pretrain_recipe="yamls/test/mosaic-bert-tiny.yaml", pretrain_steps=8, kill_at=4, news_docs=160,
    loss_window=2, min_loss_drop=0.1,
    throughput_shape=TINY_SHAPE, throughput_batches={128: 4, 512: 1}, throughput_warmup=1, throughput_steps=2,
    peak_shapes=((256, 256, 256),),
    fsdp_steps=4,
    glue_tasks=("rte",),
    # inductor's C++ code generation costs minutes on 2 cores; aot_eager traces forward and backward the same way
    compile_backend="aot_eager", compile_shape=TINY_SHAPE, compile_batch=(8, 40), compile_steps=3,
    compile_warmup=1, compile_tolerance=1e-5,
)
PROFILES = {profile.name: profile for profile in (GPU, CPU_DRY_RUN)}


def autocast_dtype(profile: Profile):
    """The torch dtype of ``profile.dtype`` (None: fp32, no autocast)."""
    import torch

    return getattr(torch, profile.dtype) if profile.dtype else None
