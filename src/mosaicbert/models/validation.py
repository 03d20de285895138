"""The config's ``model`` section checked against the model registry before anything is built or spawned.

The one check of a model name and its ``model_config`` keys: pretraining and fine-tuning configs run it at
load time (a typo is one line naming the key, with a did-you-mean, never a traceback inside a worker
process), and ``build_composer_model`` runs it for callers that build a model without a config.
"""

from __future__ import annotations

from collections.abc import Mapping

from mosaicbert.did_you_mean import did_you_mean


class ModelSectionError(ValueError):
    """An unknown model name or ``model_config`` key; the message is one line naming the config key."""


def check_model_section(name: str, model_config: Mapping[str, object], key: str = "model") -> None:
    """``name`` is in ``MODEL_REGISTRY`` and every ``model_config`` key is a field of that model's config class."""
    from mosaicbert.models import MODEL_REGISTRY

    if name not in MODEL_REGISTRY:
        raise ModelSectionError(f"config key '{key}.name': unknown model {name!r}"
                                f"{did_you_mean(name, MODEL_REGISTRY)}; choose from: {', '.join(MODEL_REGISTRY)}")
    prefix = f"{key}.model_config."
    known = [prefix + field for field in MODEL_REGISTRY[name].config_class().to_dict()]
    for field in model_config:
        if prefix + field not in known:
            raise ModelSectionError(f"unknown config key '{prefix}{field}' for model '{name}'"
                                    f"{did_you_mean(prefix + field, known)}")
