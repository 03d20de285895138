"""The registries: every name a YAML section may give, mapped to the class it builds.

Each ``Registry`` (``registry.py``) checks a section's keyword arguments against its class's signature at
load time. The classes are Composer's and torch's, plus the recipe's own Composer algorithms
(``mosaicbert.algorithms``) and callbacks (``mosaicbert.callbacks``).

- ``optimizer: {name: decoupled_adamw, lr: 5.0e-4, ...}``: ``decoupled_adamw`` is Composer's DecoupledAdamW
  update run by PyTorch's fused kernel (``optim/fused_adamw.py``); ``decoupled_adamw_loop`` is Composer's own
  per-tensor implementation; ``stable_adamw`` is ModernBERT's StableAdamW (``optim/stable_adamw.py``, from the optional
  package ``torch-optimi``).
- ``scheduler: {name: linear_decay_with_warmup, t_warmup: 0.06dur, alpha_f: 0.02}``: Composer's stateless
  schedulers (times in Composer units, exact on resume), plus ``warmup_stable_decay`` (``optim/schedulers.py``:
  ``t_warmup``, ``t_decay``, ``decay_shape: linear | 1-sqrt``, ``alpha_f``) for runs in phases.
- ``algorithms: {masking_rate_schedule: {schedule: linear, end: 0.15}, ...}``; ``domain_upsampling: {start:
  0.85dur, proportions: {c4: 1, pubmed: 4}}`` changes the stream mixture for the last part of training (needs
  ``train_loader.streams``); ``batch_size_warmup: {start_fraction: 0.1, t_warmup: 0.2dur}`` ramps the global
  batch (``start_batch_size`` in samples instead of a fraction). The recipe injects what an algorithm needs
  from the run (``masker``: the training MLM masker).
- ``callbacks: {speed_monitor: {window_size: 20}, lr_monitor: {}, ...}``: Composer's callbacks for
  throughput/MFU (``speed_monitor``; tokens are whatever the DataSpec counts, and MFU needs
  ``gpu_flops_available`` off the known GPUs), learning rate, memory and remaining time, plus the recipe's
  own guard against non-finite losses.
- ``loggers: {tensorboard: {log_dir: ...}, wandb: {project: ...}, ...}``: console output and the progress bar
  are Trainer switches (``log_to_console``, ``progress_bar``) rather than entries here. W&B and MLflow need
  their packages installed; asking for them otherwise is a config error naming the package.

In every section ``name: false`` turns off what a recipe turns on (``algorithms.domain_upsampling=false``).
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
from composer.callbacks import LRMonitor, MemoryMonitor, OptimizerMonitor, RuntimeEstimator, SpeedMonitor
from composer.core import Algorithm, Callback
from composer.loggers import FileLogger, LoggerDestination, MLFlowLogger, TensorboardLogger, WandBLogger
from composer.optim import (
    ComposerScheduler,
    ConstantScheduler,
    ConstantWithWarmupScheduler,
    CosineAnnealingScheduler,
    CosineAnnealingWithWarmupScheduler,
    DecoupledAdamW,
    DecoupledSGDW,
    LinearScheduler,
    LinearWithWarmupScheduler,
    PolynomialWithWarmupScheduler,
)

from mosaicbert.algorithms.batch_size_warmup import BatchSizeWarmup
from mosaicbert.algorithms.domain_upsampling import DomainUpsampling
from mosaicbert.algorithms.masking_schedule import MaskingRateScheduler
from mosaicbert.callbacks.nonfinite_loss import NonFiniteLossGuard
from mosaicbert.optim.fused_adamw import FusedDecoupledAdamW
from mosaicbert.optim.schedulers import WarmupStableDecayScheduler
from mosaicbert.optim.stable_adamw import stable_adamw

from .registry import Registry

OPTIMIZERS = Registry("optimizer", {
    "decoupled_adamw": FusedDecoupledAdamW,
    "decoupled_adamw_loop": DecoupledAdamW,
    "decoupled_sgdw": DecoupledSGDW,
    "adamw": torch.optim.AdamW,
    "stable_adamw": stable_adamw,
}, injected=("params",), requires={"stable_adamw": ("optimi", "torch-optimi")})

SCHEDULERS = Registry("scheduler", {
    "linear_decay_with_warmup": LinearWithWarmupScheduler,
    "cosine_decay_with_warmup": CosineAnnealingWithWarmupScheduler,
    "polynomial_decay_with_warmup": PolynomialWithWarmupScheduler,
    "constant_with_warmup": ConstantWithWarmupScheduler,
    "linear_decay": LinearScheduler,
    "cosine_decay": CosineAnnealingScheduler,
    "constant": ConstantScheduler,
    "warmup_stable_decay": WarmupStableDecayScheduler,
})

ALGORITHMS = Registry("algorithm", {
    "masking_rate_schedule": MaskingRateScheduler,
    "domain_upsampling": DomainUpsampling,
    "batch_size_warmup": BatchSizeWarmup,
}, injected=("masker",))

CALLBACKS = Registry("callback", {
    "speed_monitor": SpeedMonitor,
    "lr_monitor": LRMonitor,
    "memory_monitor": MemoryMonitor,
    "runtime_estimator": RuntimeEstimator,
    "optimizer_monitor": OptimizerMonitor,
    "nonfinite_loss_guard": NonFiniteLossGuard,
})

LOGGERS = Registry("logger", {
    "tensorboard": TensorboardLogger,
    "wandb": WandBLogger,
    "mlflow": MLFlowLogger,
    "file": FileLogger,
}, requires={"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"})


def build_optimizer(section: Any, model: torch.nn.Module, key: str = "optimizer",
                    fast_modules: Iterable[torch.nn.Module] = (), lr_factor: float = 1.0) -> torch.optim.Optimizer:
    """Build the optimizer named in ``section`` over all parameters of ``model``. Parameters that belong only
    to ``fast_modules`` (fresh heads; not a weight tied to the encoder) learn at ``lr_factor`` x ``lr``."""
    fast_modules = list(fast_modules)
    if lr_factor == 1.0 or not fast_modules:
        return OPTIMIZERS.build_one(section, key, params=model.parameters())
    fast_names = [name for name, module in model.named_modules() if any(module is m for m in fast_modules)]
    in_fast, slow = {}, {}
    for name, param in model.named_parameters(remove_duplicate=False):
        inside = any(name.startswith(f"{prefix}.") for prefix in fast_names)
        (in_fast if inside else slow)[id(param)] = param
    fast = [param for pid, param in in_fast.items() if pid not in slow]  # a tied weight keeps the base rate
    return OPTIMIZERS.build_one(section, key, params=[{"params": list(slow.values())},
                                                       {"params": fast, "lr": section["lr"] * lr_factor}])


def build_scheduler(section: Any, key: str = "scheduler") -> ComposerScheduler:
    """Build the Composer LR scheduler named in ``section``."""
    return SCHEDULERS.build_one(section, key)


def build_algorithms(section: Any, key: str = "algorithms", **injected: Any) -> list[Algorithm]:
    """Build every algorithm named in ``section``, passing each the ``injected`` objects it accepts."""
    return ALGORITHMS.build_many(section, key, **injected)


def build_callbacks(section: Any, key: str = "callbacks") -> list[Callback]:
    """Build every callback named in ``section``."""
    return CALLBACKS.build_many(section, key)


def build_loggers(section: Any, key: str = "loggers") -> list[LoggerDestination]:
    """Build every logger named in ``section``."""
    return LOGGERS.build_many(section, key)
