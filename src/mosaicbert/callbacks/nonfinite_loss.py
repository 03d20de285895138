"""Stop training on a NaN or infinite loss, before the optimizer step and before any checkpoint of it.

Every microbatch's loss is checked on the device at ``Event.AFTER_LOSS`` (no host sync); once per batch, at
``Event.AFTER_TRAIN_BATCH`` (after the last backward, before the optimizer step), one all-reduce tells every
rank which ranks saw a non-finite loss, and every rank raises the same error at the same batch: a rank that
raised alone would leave the others blocked in the next collective until its timeout. The bad update is never
applied, the weights stay those of the last good batch, and no checkpoint is written for the failing batch, so
the last checkpoint on disk is untouched and a run can restart from it (e.g. with a lower learning rate).
Unlike Composer's ``NaNMonitor`` it also catches infinities and says where it happened.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import torch
from composer.callbacks import CheckpointSaver
from composer.core import Callback, State
from composer.loggers import Logger
from composer.utils import dist

# per-rank codes, all-reduced with MAX: the "worst" kind of value wins
_KINDS = {0: None, 1: "-inf", 2: "inf", 3: "nan"}

from mosaicbert import exit_codes


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""

    exit_code = exit_codes.FAILED


class NonFiniteLossGuard(Callback):
    """Raise :class:`NonFiniteLossError` on every rank as soon as any rank's training loss is not finite."""

    def __init__(self) -> None:
        self._code: Optional[torch.Tensor] = None  # this batch's worst loss kind on this rank (device tensor)

    def after_loss(self, state: State, logger: Logger) -> None:
        for loss in _tensors(state.loss):
            loss = loss.detach().float()
            code = torch.where(loss.isnan(), 3, torch.where(loss.isinf(), torch.where(loss > 0, 2, 1), 0)).amax()
            self._code = code if self._code is None else torch.maximum(self._code, code)

    def after_train_batch(self, state: State, logger: Logger) -> None:
        if self._code is None:
            return
        codes = torch.zeros(dist.get_world_size(), dtype=torch.int64, device=self._code.device)
        codes[dist.get_global_rank()] = self._code
        self._code = None
        dist.all_reduce(codes, reduce_operation="MAX")  # the batch's one host sync: every rank sees every flag
        codes = codes.tolist()
        if not any(codes):
            return
        value = _KINDS[max(codes)]
        ranks = [rank for rank, code in enumerate(codes) if code]
        where = "" if len(codes) == 1 else f" on rank{'s' if len(ranks) > 1 else ''} {_ranks(ranks)} of {len(codes)}"
        saved = [path for cb in state.callbacks if isinstance(cb, CheckpointSaver)
                 for path in cb.all_saved_checkpoints_to_timestamp]
        last = [f"last checkpoint: {saved[-1]}" if saved else "no checkpoint was saved in this run"]
        dist.broadcast_object_list(last, src=0)  # rank 0 wrote the checkpoints: the same message everywhere
        raise NonFiniteLossError(
            f"training loss became {value}{where} at batch {int(state.timestamp.batch)} "
            f"(sample {int(state.timestamp.sample)}); stopped before the optimizer step, {last[0]}")


def _ranks(ranks: list[int]) -> str:
    return ", ".join(map(str, ranks[:8])) + (f" (+{len(ranks) - 8} more)" if len(ranks) > 8 else "")


def _tensors(loss: Any) -> list[torch.Tensor]:
    if isinstance(loss, torch.Tensor):
        return [loss]
    if isinstance(loss, Mapping):
        return [v for v in loss.values() if isinstance(v, torch.Tensor)]
    if isinstance(loss, Sequence):
        return [v for v in loss if isinstance(v, torch.Tensor)]
    raise TypeError(f"unsupported loss type {type(loss).__name__}")
