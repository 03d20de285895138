"""Training in phases: a run that starts from another run's Composer checkpoint (``load_path``).

The keys are Composer's own Trainer arguments (``load_path``, ``load_weights_only``, ``load_ignore_keys``) plus
``reset_time``. Composer 0.32.1 has ``reset_time`` only on ``Trainer.fit``, where it resets the clock on *every*
call (an autoresumed restart of the phase would start over) and keeps the restored Streaming ``dataset_state``
(the phase's data would start at the earlier run's sample offset). Here ``reset_time`` instead drops the earlier
run's clock, data position, schedule, algorithm/callback state, seed and RNG through ``load_ignore_keys``, so the
phase starts at batch 0 and sample 0 of its own loader; the optimizer's hyperparameters (lr, betas, weight
decay) are the phase's config, its moments the earlier run's.

A killed phase resumes as itself: Composer's autoresume finds the phase's own checkpoint in its ``save_folder``
and then ignores ``load_path`` and its options. That folder must differ from ``load_path``'s, or the repair of
a killed run's folder (``checkpoints.py``) would delete the earlier run's later checkpoints.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Protocol

from composer.core import Callback, Event, State
from composer.loggers import Logger
from composer.utils import partial_format

from mosaicbert.config.loading import ConfigError
from mosaicbert.config.model_section import ModelSection

from .checkpoints import LATEST


class PhaseKeys(Protocol):
    """The keys of a run's config that make it a phase of another (``PretrainConfig`` has them; the schema calls
    ``check_phase``, so this module names the keys rather than importing the schema)."""

    load_path: str | None
    load_weights_only: bool
    load_ignore_keys: list[str]
    reset_time: bool
    save_folder: str | None
    run_name: str | None
    autoresume: bool
    model: ModelSection

# what reset_time leaves behind of the earlier run (paths in Composer's checkpoint, glob patterns)
RESET_TIME_KEYS = ("state/timestamp", "state/dataset_state", "state/schedulers", "state/algorithms",
                   "state/callbacks", "state/rank_zero_seed", "rng")


def starts_fresh_optimizer_hyperparameters(cfg: PhaseKeys) -> bool:
    """A phase that loads the earlier run's optimizer state and resets the clock (see PhaseHyperparameters)."""
    return bool(cfg.load_path) and cfg.reset_time and not cfg.load_weights_only


def phase_trainer_arguments(cfg: PhaseKeys) -> dict[str, Any]:
    """The Trainer's ``load_*`` keyword arguments of a run (``load_path=None`` for a run that is not a phase)."""
    if not cfg.load_path:
        return {"load_path": None}
    ignore = list(cfg.load_ignore_keys)
    if starts_fresh_optimizer_hyperparameters(cfg):  # weights only: Composer restores nothing else anyway
        ignore += [key for key in RESET_TIME_KEYS if key not in ignore]
    return {"load_path": cfg.load_path, "load_weights_only": cfg.load_weights_only,
            "load_ignore_keys": ignore or None}


def check_phase(cfg: PhaseKeys) -> None:
    """One-line errors: the options without ``load_path``, two sources of weights, a missing checkpoint, a
    ``save_folder`` that is the earlier run's."""
    load_path, save_folder = cfg.load_path, cfg.save_folder or ""
    if not load_path:
        for key in ("load_weights_only", "reset_time", "load_ignore_keys"):
            if getattr(cfg, key):
                raise ConfigError(f"config key '{key}': applies only with 'load_path' (a Composer checkpoint)")
        return
    if cfg.model.init_from:
        raise ConfigError("config key 'load_path': 'model.init_from' also gives the starting weights; use one "
                          "(load_path: a Composer checkpoint of this recipe, optimizer state too; init_from: any "
                          "format, weights only)")
    if "://" in load_path:
        return
    local_folder = bool(save_folder) and "://" not in save_folder
    # run_name only: validation runs before (and without) the distributed setup the other fields need
    folder = os.path.realpath(partial_format(save_folder, run_name=cfg.run_name or "")) if local_folder else None
    resumes = cfg.autoresume and folder is not None and os.path.lexists(os.path.join(folder, LATEST))
    if not os.path.isfile(load_path) and not resumes:  # a resumed phase does not read load_path
        raise ConfigError(f"config key 'load_path': no checkpoint file at '{load_path}'")
    if folder in {os.path.dirname(os.path.realpath(load_path)), os.path.dirname(os.path.abspath(load_path))}:
        raise ConfigError(f"config key 'save_folder': '{save_folder}' holds the checkpoint of 'load_path'; give "
                          "the phase its own folder (resuming it would delete the earlier run's later checkpoints)")


class PhaseHyperparameters(Callback):
    """At the start of a phase that loads optimizer state: the config's lr, betas, weight decay, ... replace the
    loaded ones (the moments stay). Does nothing when autoresume loads the phase's own checkpoint."""

    def __init__(self, load_path: str):
        self.load_path = load_path
        self._configured: list[dict[str, Any]] = []

    def run_event(self, event: Event, state: State, logger: Logger) -> None:
        if event == Event.BEFORE_LOAD:
            self._configured = [{key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
                                for optimizer in state.optimizers for group in optimizer.param_groups]
        elif event == Event.AFTER_LOAD and state.load_path == self.load_path:
            groups = [group for optimizer in state.optimizers for group in optimizer.param_groups]
            for group, configured in zip(groups, self._configured, strict=True):
                group.update(copy.deepcopy(configured))
