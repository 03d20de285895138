"""One training step as Composer's Trainer runs it, its model FLOPs, and the matmul peak they are divided by.

Each family's pretraining dropouts (the benchmarks measure every family as the recipe pretrains it) are the
family's own: ``MODEL_REGISTRY[name].pretraining_dropouts``."""

from __future__ import annotations

import statistics

import torch

from mosaicbert.architecture import IGNORE_INDEX
from mosaicbert.architecture.padding import DOCUMENT_IDS
from mosaicbert.models.flops import FlopShape, step_flops

from .timing import timed

# the recipe's optimizer at a small learning rate: every family steps through the same update
OPTIMIZER = {"name": "decoupled_adamw", "lr": 1.0e-5, "betas": [0.9, 0.98], "eps": 1.0e-6, "weight_decay": 1.0e-5}
PEAK_SHAPES = ((4096, 768, 3072), (4096, 3072, 768), (2048, 2048, 2048))  # (tokens, in, out) of F.linear


def train_step(model, optimizer, batch: dict[str, torch.Tensor]) -> None:
    """One optimizer step: forward, loss, backward, step."""
    optimizer.zero_grad(set_to_none=True)
    loss = model.loss(model(batch), batch)
    loss.backward()
    optimizer.step()


def batch_flops(shape: FlopShape, batch: dict[str, torch.Tensor], task: str) -> tuple[float, float]:
    """(FLOPs a network of ``shape`` (``family.flop_shape(config)``) executes on ``batch``, FLOPs the architecture
    needs for the real tokens only)."""
    masked = float((batch["labels"] != IGNORE_INDEX).sum()) if task == "mlm" else 0.0
    sequences = len(batch["attention_mask"]) if task == "classification" else 0
    return step_flops(shape, batch["attention_mask"], masked, sequences, batch.get(DOCUMENT_IDS))


def matmul_peak(dtype: torch.dtype, shapes=PEAK_SHAPES, repeats: int = 5, device: str = "cpu") -> float:
    """Best median FLOP/s of ``F.linear`` in ``dtype`` over ``shapes`` (bert-base projections), current threads;
    each call timed between device synchronisations (two warm-up calls first)."""
    best = 0.0
    for tokens, d_in, d_out in shapes:
        x = torch.randn(tokens, d_in, dtype=dtype, device=device)
        weight = torch.randn(d_out, d_in, dtype=dtype, device=device)
        times = [timed(lambda: torch.nn.functional.linear(x, weight), device) for _ in range(repeats + 2)]
        best = max(best, 2 * tokens * d_in * d_out / statistics.median(times[2:]))
    return best
