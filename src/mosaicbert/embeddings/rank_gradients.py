"""The gradients of the cached loss, averaged over ranks. That loss embeds again with gradients in its backward
pass, outside the wrapped forward, so DDP does not (fully) all-reduce them and the ranks' weights would drift apart.
Averaging after the backward is right whatever DDP already reduced: an average of parts equal on every rank leaves
them as they are."""

from __future__ import annotations

from composer import Callback, Logger, State
from composer.utils import dist


class AverageGradientsAcrossRanks(Callback):
    def after_backward(self, state: State, logger: Logger) -> None:
        world = dist.get_world_size()
        for parameter in state.model.parameters():
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad, reduce_operation="SUM")
                parameter.grad.div_(world)
