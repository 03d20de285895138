"""``main.py`` plus a test-only callback ``poison_weights``: one rank's weights turn infinite before a given batch.

Used by ``test_main_e2e.py`` to make the training loss non-finite on one rank only (a real forward pass on
poisoned weights), as a diverging rank or a bad GPU would.
"""

import sys

import torch
from composer.core import Callback, State
from composer.loggers import Logger
from composer.utils import dist

from mosaicbert.config.components import CALLBACKS
from mosaicbert.training.cli import pretrain_cli


class PoisonWeights(Callback):
    """On global rank ``rank``, set the first LayerNorm's weights to +inf right before batch ``batch`` runs."""

    def __init__(self, rank: int, batch: int):
        self.rank, self.batch = rank, batch

    def batch_start(self, state: State, logger: Logger) -> None:
        if dist.get_global_rank() == self.rank and int(state.timestamp.batch) == self.batch:
            weight = next(p for name, p in state.model.named_parameters() if name.endswith("LayerNorm.weight"))
            with torch.no_grad():
                weight.fill_(float("inf"))


if __name__ == "__main__":
    CALLBACKS.entries["poison_weights"] = PoisonWeights
    sys.exit(pretrain_cli())
