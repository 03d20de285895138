"""The recipe's ``fsdp_config`` -> Composer's FSDP config (``Trainer(parallelism_config={"fsdp": ...})``).

Composer 0.32 has two FSDP implementations: FSDP1 (``FullyShardedDataParallel``, its default, chosen by the
``FSDP_VERSION`` environment variable, ``1`` unless set) needs CUDA; FSDP2 (``fully_shard``, ``FSDP_VERSION=2``)
also runs on CPU ranks (gloo), so the recipe uses FSDP2 there. The options are Composer's (``FSDPConfig`` /
``FSDP2Config`` fields). Per-layer sharding and activation checkpointing come from the model
(``mosaicbert.models.sharding``). ``state_dict_type`` defaults to ``full``: monolithic checkpoints, which
autoresume's repair, ``model.init_from`` and the Hugging Face export read.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Union

from composer.utils.parallelism import FSDP2Config, FSDPConfig

from mosaicbert.config.loading import ConfigError
from mosaicbert.did_you_mean import did_you_mean

FSDPSettings = Union[FSDPConfig, FSDP2Config]


def fsdp_version(device: str) -> int:
    """2 on CPU (Composer's FSDP1 calls ``torch.cuda``); on GPU Composer's own choice, ``FSDP_VERSION`` (default 1)."""
    return 2 if device == "cpu" else int(os.environ.get("FSDP_VERSION", "1"))


def build_fsdp_config(options: Mapping[str, Any], device: str, key: str = "fsdp_config") -> FSDPSettings:
    """Composer's FSDP config for ``options`` on ``device``; a one-line ConfigError for an unknown or bad option."""
    if not options:
        raise ConfigError(f"config key '{key}': empty; leave it out (null) for DDP, or give at least one FSDP option "
                          f"to shard, e.g. {key}.state_dict_type=full")
    version = fsdp_version(device)
    config_class = FSDP2Config if version == 2 else FSDPConfig
    # FSDP2 accepts (and ignores with a warning) FSDP1-only options, so one YAML serves both versions
    known = {f.name for f in dataclasses.fields(FSDPConfig) if f.init and not f.name.startswith("_")}
    if version == 2:
        known |= FSDP2Config.settable_attrs()
    for name in options:
        if name not in known:
            raise ConfigError(f"config key '{key}.{name}': not an option of Composer's {config_class.__name__} "
                              f"(FSDP{version}){did_you_mean(name, known)}")
    settings = {"state_dict_type": "full", **options}
    try:
        if version == 2:
            return FSDP2Config.from_compatible_attrs(settings)
        return FSDPConfig(**settings)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key '{key}': {err}") from None
