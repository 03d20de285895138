"""StableAdamW (Wortsman et al. 2023), ModernBERT's optimizer, from the maintained ``torch-optimi`` package (imported
when built: the package is optional, ``registries.OPTIMIZERS`` names it when missing), with ModernBERT's choices:
decoupled weight decay (scaled by lr / peak lr, as Composer's DecoupledAdamW, so ``weight_decay: 1.0e-5`` means what
the recipes say) and none on biases and norms."""

from __future__ import annotations

from typing import Iterable

import torch


def without_decay_on_biases_and_norms(params: Iterable[torch.Tensor] | Iterable[dict]) -> list[dict]:
    """Parameter groups in which 1-D tensors (biases, LayerNorm weights) get no weight decay; groups given as dicts
    (e.g. a fresh head at its own lr) are split the same way and keep their other settings."""
    params = list(params)
    groups = params if params and isinstance(params[0], dict) else [{"params": params}]
    split = []
    for group in groups:
        tensors = list(group["params"])
        split.append({**group, "params": [p for p in tensors if p.ndim > 1]})
        split.append({**group, "params": [p for p in tensors if p.ndim <= 1], "weight_decay": 0.0})
    return [group for group in split if group["params"]]


def stable_adamw(params: Iterable[torch.Tensor] | Iterable[dict], lr: float, betas: tuple[float, float] = (0.9, 0.98),
                 eps: float = 1e-6, weight_decay: float = 1e-5, decay_biases_and_norms: bool = False,
                 kahan_sum: bool | None = None) -> torch.optim.Optimizer:
    """``optimi.StableAdamW`` with decoupled weight decay (``decouple_lr``); ``kahan_sum`` None: on for bf16 weights.
    Its Triton kernel only where CUDA is (optimi would otherwise look for a Triton driver on a CPU-only machine)."""
    from optimi import StableAdamW

    groups = list(params) if decay_biases_and_norms else without_decay_on_biases_and_norms(params)
    return StableAdamW(groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decouple_lr=True,
                       kahan_sum=kahan_sum, triton=None if torch.cuda.is_available() else False)
