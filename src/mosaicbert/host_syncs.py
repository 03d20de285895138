"""Count the calls that copy a device value to the host during a piece of work (a training step).

On a GPU each such call (``.item()``, ``int(t)``, ``.tolist()``, ``nonzero``, a boolean-mask index, ...) waits for
the queue to drain, once per microbatch. The counter is a torch function mode, so it sees the calls on CPU as
well: tests and ``benchmarks/host_syncs.py`` count a step's syncs without a GPU.
"""

from __future__ import annotations

import contextlib

import torch
from torch.overrides import TorchFunctionMode

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
