"""A run started again after its own checkpoint reached ``max_duration``: finish its end, train nothing.

Composer's ``fit()`` refuses such a run with a traceback; a re-submitted job script, a requeued cluster job or a
second ``scripts/quickstart.sh`` meets exactly that. Only this run's own ``save_folder`` checkpoint counts (the one
autoresume loaded), not weights or state from another run's checkpoint (``model.init_from``, a phase's
``load_path``). Rank 0 decides and every rank follows, so all ranks take the same branch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Optional

from composer import Trainer
from composer.utils import dist, format_name_with_dist

from mosaicbert.config.loading import ConfigError
from mosaicbert.ranks import rank_zero_value

from .checkpoints import LATEST
from .schema import PretrainConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompletedRun:
    """This run's checkpoint at ``max_duration`` and whether the export is already there."""

    checkpoint: str
    reached: str  # e.g. "520ba"
    exported: bool

    def finish(self, cfg: PretrainConfig, trainer: Trainer) -> None:
        """The one line, then the final evaluation again (fixed masks: the numbers of the run's last one)."""
        if dist.get_global_rank() == 0:
            log.info("run %r is already complete at %s (%s); nothing to train", cfg.run_name, self.reached,
                     self.checkpoint)
        if cfg.eval_loader is not None:
            trainer.eval()


def resumed_own_checkpoint(cfg: PretrainConfig, trainer: Trainer) -> Optional[str]:
    """The checkpoint of this run's ``save_folder`` the Trainer resumed from, or None (fresh start, another run's)."""
    if not cfg.autoresume or not trainer.state.load_path:
        return None
    folder = format_name_with_dist(cfg.save_folder, cfg.run_name)
    latest = os.path.join(folder, LATEST)  # what Composer's autoresume loads (rank 0's link)
    if os.path.abspath(trainer.state.load_path) != os.path.abspath(latest) or not os.path.islink(latest):
        return None
    return os.path.normpath(os.path.join(folder, os.readlink(latest)))


def completed_run(cfg: PretrainConfig, trainer: Trainer) -> Optional[CompletedRun]:
    """This run already at ``max_duration`` (None: there is training to do); a shorter one is a ConfigError."""
    found = rank_zero_value(_check(cfg, trainer) if dist.get_global_rank() == 0 else None)
    if isinstance(found, str):
        raise ConfigError(found)
    return found


def _check(cfg: PretrainConfig, trainer: Trainer) -> CompletedRun | str | None:
    """Rank 0's decision; a string is the config error every rank raises."""
    checkpoint = resumed_own_checkpoint(cfg, trainer)
    if checkpoint is None:
        return None
    max_duration = trainer.state.max_duration
    reached = trainer.state.timestamp.get(max_duration.unit)
    if reached < max_duration:
        return None  # a longer max_duration: training continues from the checkpoint
    if reached > max_duration:
        return (f"config key 'max_duration': {max_duration.to_timestring()} is shorter than run {cfg.run_name!r}, "
                f"whose checkpoint {checkpoint} is at {reached.to_timestring()}; give at least "
                f"{reached.to_timestring()}, or another run_name or save_folder for a new run")
    export = cfg.export_hf_dir and format_name_with_dist(cfg.export_hf_dir, cfg.run_name)
    return CompletedRun(checkpoint, reached.to_timestring(), exported=bool(export) and os.path.isdir(export))
