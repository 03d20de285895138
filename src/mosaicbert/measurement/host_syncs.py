"""Host syncs: counting the calls that copy a device value to the host during a training step, and timing a step
with and without the one unpadding used to make (``benchmarks/host_syncs.py``, ``gpu_check.sh``'s host_syncs check).

On a GPU each such call (``.item()``, ``int(t)``, ``.tolist()``, ``nonzero``, a boolean-mask index, ...) waits for
the queue to drain, once per microbatch. The counter is a torch function mode, so it sees the calls on CPU as
well: tests and the benchmark count a step's syncs without a GPU. Before issue 22, ``padding_info`` read the longest
sequence back to the host for flash-attn's ``max_seqlen``, which needs only an upper bound (the padded length).
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch
from torch.overrides import TorchFunctionMode

from mosaicbert.architecture import modeling_mosaic_bert
from mosaicbert.architecture.padding import padding_info

from .steps import train_step
from .timing import timed

SYNCING_CALLS = frozenset({"item", "tolist", "__int__", "__float__", "__bool__", "__index__", "nonzero",
                           "unique_consecutive", "masked_select", "argwhere"})


class HostSyncCounter(TorchFunctionMode):
    """Records the name of every host-syncing torch call made while active (a boolean-tensor index counts)."""

    def __init__(self):
        super().__init__()
        self.calls: list[str] = []
        self.counting = True

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        bool_index = (name == "__getitem__" and len(args) > 1 and isinstance(args[1], torch.Tensor)
                      and args[1].dtype == torch.bool)
        if self.counting and (name in SYNCING_CALLS or bool_index):
            self.calls.append(name)
        return func(*args, **(kwargs or {}))

    @contextlib.contextmanager
    def paused(self):
        """Stop counting inside (e.g. a CPU stand-in for a kernel that is one device call on a GPU)."""
        self.counting = False
        try:
            yield
        finally:
            self.counting = True


def padding_info_exact(attention_mask, document_ids=None):
    """The pre-issue-22 ``padding_info``: ``max_seqlen`` is the exact longest sequence, read to the host."""
    info = padding_info(attention_mask, document_ids)
    return dataclasses.replace(info, max_seqlen=int(info.cu_seqlens.diff().max()) if info.batch_size else 0)


VARIANTS = {"exact max_seqlen (before)": padding_info_exact, "upper bound (now)": padding_info}


def syncs_per_step(model, optimizer, batch) -> list[str]:
    """The host-syncing calls of one training step."""
    counter = HostSyncCounter()
    with counter:
        train_step(model, optimizer, batch)
    return counter.calls


def compare_variants(model, optimizer, batches: list[dict], device: torch.device, warmup: int, steps: int,
                     progress=lambda text: None) -> dict[str, dict]:
    """Each variant of ``VARIANTS`` (MosaicBERT's unpadding swapped in): its measured step seconds (rounds after
    ``warmup``, which variant goes first alternating by round) and the host-syncing calls of one step."""
    seconds = {name: [] for name in VARIANTS}
    syncs = {}
    try:
        for round_index in range(warmup + steps):
            batch = batches[round_index % len(batches)]
            names = list(VARIANTS) if round_index % 2 == 0 else list(VARIANTS)[::-1]
            for name in names:
                modeling_mosaic_bert.padding_info = VARIANTS[name]
                elapsed = timed(lambda: train_step(model, optimizer, batch), device)
                if round_index >= warmup:
                    seconds[name].append(elapsed)
            progress(f"round {round_index + 1}/{warmup + steps} done")
        for name in VARIANTS:
            modeling_mosaic_bert.padding_info = VARIANTS[name]
            syncs[name] = syncs_per_step(model, optimizer, batches[0])
    finally:
        modeling_mosaic_bert.padding_info = padding_info
    return {name: {"step_s": seconds[name], "sync_calls": syncs[name]} for name in VARIANTS}
