"""BatchSizeWarmup: the global batch ramps linearly from a start size to the full one (ModernBERT's recipe).

The dataloader always yields the full batch; at ``Event.AFTER_DATALOADER`` every rank keeps the first ``k``
samples of its batch, ``k`` a pure function of ``state.timestamp`` (exact after a resume, the same on every
rank). Composer counts a batch's samples and tokens *before* that event, so the Streaming position (resumed
from the sample count) stays exact: the dropped samples are skipped, which is the cost of this way of ramping.
The token count is then corrected to the tokens trained (at ``BATCH_END``, before evaluation, checkpoints and
the next batch's schedule read it): ``tok`` durations mean trained tokens, ``sp`` durations samples drawn from
the data (so does Composer's ``speed_monitor``: its samples/s count the skipped samples during the ramp).
"""

from __future__ import annotations

import math
from typing import Mapping, Optional, Union

import torch
from composer.core import Algorithm, Event, State, Time, TimeUnit
from composer.loggers import Logger
from composer.optim.scheduler import _convert_time  # Composer's own dur -> max_duration-unit conversion
from composer.utils import dist

from mosaicbert.data.loaders import count_real_tokens


class BatchSizeWarmup(Algorithm):
    """Train on a prefix of each batch whose size grows linearly to the full batch over ``t_warmup``.

    Args:
        t_warmup: the ramp's length (``tok``, ``sp``, ``ba``, ``dur``); the full batch from then on.
        start_batch_size: the global batch at time 0 (split evenly over the ranks, at least 1 per rank), or
        start_fraction: the same as a fraction of the full global batch (give one of the two).
    """

    def __init__(self, t_warmup: Union[str, Time], start_batch_size: Optional[int] = None,
                 start_fraction: Optional[float] = None):
        if (start_batch_size is None) == (start_fraction is None):
            raise ValueError("give one of 'start_batch_size' (global samples) or 'start_fraction' (of the batch)")
        if start_batch_size is not None and start_batch_size < 1:
            raise ValueError(f"'start_batch_size' must be at least 1, got {start_batch_size}")
        if start_fraction is not None and not 0.0 < start_fraction <= 1.0:
            raise ValueError(f"'start_fraction' must be in (0, 1], got {start_fraction}")
        self.t_warmup = Time.from_input(t_warmup, TimeUnit.DURATION)
        if self.t_warmup.unit in (TimeUnit.SECOND, TimeUnit.EPOCH):
            raise ValueError(f"'t_warmup' must be in dur, ba, sp or tok, got {self.t_warmup}")
        self.start_batch_size = start_batch_size
        self.start_fraction = start_fraction
        self._dropped_tokens: Optional[int] = None  # this batch's, while the ramp drops samples

    def match(self, event: Event, state: State) -> bool:
        return event in (Event.AFTER_DATALOADER, Event.BATCH_END)

    def apply(self, event: Event, state: State, logger: Logger) -> None:
        if event == Event.AFTER_DATALOADER:
            full = _batch_len(state.batch)
            keep = self.device_batch_size(state, full)
            logger.log_metrics({"batch_size_warmup/global_batch_size": keep * dist.get_world_size()})
            self._dropped_tokens = None
            if keep < full:  # the same decision on every rank (same clock, same loader batch)
                self._dropped_tokens = count_real_tokens(state.batch) - count_real_tokens(_prefix(state.batch, keep))
                state.batch = _prefix(state.batch, keep)
        elif self._dropped_tokens is not None:
            dropped = state.device.tensor_to_device(torch.tensor([self._dropped_tokens], dtype=torch.long))
            dist.all_reduce(dropped)
            dropped_tokens, timestamp = int(dropped), state.timestamp
            state.timestamp = timestamp.copy(token=timestamp.token - dropped_tokens,
                                             token_in_epoch=timestamp.token_in_epoch - dropped_tokens,
                                             token_in_iteration=timestamp.token_in_iteration - dropped_tokens)

    def device_batch_size(self, state: State, full: int) -> int:
        """This rank's batch at ``state.timestamp``: ``full`` (the loader's) once the ramp is over."""
        world = dist.get_world_size()
        start = (math.ceil(self.start_fraction * full * world) if self.start_batch_size is None
                 else self.start_batch_size)
        warmup = _convert_time(self.t_warmup, state)
        now = state.timestamp.get(warmup.unit).value
        progress = 1.0 if warmup.value <= 0 else min(now / warmup.value, 1.0)
        global_size = start + (full * world - start) * progress
        return min(full, max(1, int(global_size) // world))


def _batch_len(batch: Mapping[str, torch.Tensor]) -> int:
    return len(batch["input_ids"])


def _prefix(batch: Mapping[str, torch.Tensor], size: int) -> dict[str, torch.Tensor]:
    return {key: value[:size] for key, value in batch.items()}
