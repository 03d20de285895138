"""Stop training on a NaN or infinite loss, before the optimizer step and before any checkpoint of it.

The check runs at ``Event.AFTER_LOSS`` of every microbatch: the bad loss is never back-propagated, the
weights stay those of the last good batch, and no checkpoint is written for the failing batch, so the
last checkpoint on disk is untouched and a run can restart from it (e.g. with a lower learning rate).
Unlike Composer's ``NaNMonitor`` it also catches infinities and says where it happened.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from composer.callbacks import CheckpointSaver
from composer.core import Callback, State
from composer.loggers import Logger

from mosaicbert import exit_codes


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""

    exit_code = exit_codes.FAILED


class NonFiniteLossGuard(Callback):
    """Raise :class:`NonFiniteLossError` as soon as a training loss is not finite."""

    def after_loss(self, state: State, logger: Logger) -> None:
        losses = _tensors(state.loss)
        if all(bool(torch.isfinite(loss).all()) for loss in losses):
            return
        value = next(loss for loss in losses if not torch.isfinite(loss).all()).float().flatten()[0].item()
        saved = [path for cb in state.callbacks if isinstance(cb, CheckpointSaver)
                 for path in cb.all_saved_checkpoints_to_timestamp]
        last = f"last checkpoint: {saved[-1]}" if saved else "no checkpoint was saved in this run"
        raise NonFiniteLossError(
            f"training loss became {value} at batch {int(state.timestamp.batch)} "
            f"(sample {int(state.timestamp.sample)}); stopped before the optimizer step, {last}")


def _tensors(loss: Any) -> list[torch.Tensor]:
    if isinstance(loss, torch.Tensor):
        return [loss]
    if isinstance(loss, Mapping):
        return [v for v in loss.values() if isinstance(v, torch.Tensor)]
    if isinstance(loss, Sequence):
        return [v for v in loss if isinstance(v, torch.Tensor)]
    raise TypeError(f"unsupported loss type {type(loss).__name__}")
