"""The config's ``model`` section checked against the model registry before anything is built or spawned.

Shared by the pretraining and fine-tuning configs, so a typo in ``model.name`` or ``model.model_config`` is one
line naming the key (with a did-you-mean) at load time, never a traceback inside a worker process.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


class ModelSectionError(ValueError):
    """An unknown model name or ``model_config`` key; the message is one line naming the config key."""


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_model_section(name: str, model_config: Mapping[str, object], key: str = "model") -> None:
    """``name`` is in ``MODEL_REGISTRY`` and every ``model_config`` key is a field of that model's config class."""
    from mosaicbert.models import MODEL_REGISTRY

    if name not in MODEL_REGISTRY:
        raise ModelSectionError(f"config key '{key}.name': unknown model {name!r}"
                                f"{_did_you_mean(name, MODEL_REGISTRY)}; choose from: {', '.join(MODEL_REGISTRY)}")
    prefix = f"{key}.model_config."
    known = [prefix + field for field in MODEL_REGISTRY[name].config_class().to_dict()]
    for field in model_config:
        if prefix + field not in known:
            raise ModelSectionError(f"unknown config key '{prefix}{field}' for model '{name}'"
                                    f"{_did_you_mean(prefix + field, known)}")
