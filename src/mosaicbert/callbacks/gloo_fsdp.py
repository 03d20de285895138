"""Average the gradients of FSDP2 on CPU (gloo) ranks, which PyTorch 2.7 sums.

FSDP2 reduce-scatters fp32 gradients with ``ReduceOp.AVG``; gloo's ``reduce_scatter_tensor`` treats it as a
sum (two ranks: ``[1, 2]`` and ``[2, 4]`` give ``[3, 6]``), so each rank's gradient is ``world_size`` times
DDP's. The loss keeps its value but its gradient is divided by ``world_size`` before backward: the same
update as DDP. NCCL (GPU) averages correctly; this callback is added for CPU FSDP runs only.
"""

from __future__ import annotations

import torch
from composer.core import Callback, State
from composer.loggers import Logger
from composer.utils import dist


def _scale_gradient(loss: torch.Tensor, factor: float) -> torch.Tensor:
    """``loss``'s value with ``factor`` times its gradient."""
    return loss * factor + (loss * (1.0 - factor)).detach()


class GlooFSDPGradientAverage(Callback):
    """Divide the loss's gradient by the world size (FSDP2 on gloo sums gradients, see the module docstring)."""

    def before_backward(self, state: State, logger: Logger) -> None:
        factor = 1.0 / dist.get_world_size()
        if factor == 1.0:
            return
        if isinstance(state.loss, dict):
            state.loss = {k: _scale_gradient(v, factor) for k, v in state.loss.items()}
        elif isinstance(state.loss, (tuple, list)):
            state.loss = type(state.loss)(_scale_gradient(v, factor) for v in state.loss)
        else:
            state.loss = _scale_gradient(state.loss, factor)
