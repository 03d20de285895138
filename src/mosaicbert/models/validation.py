"""The config's ``model`` section checked against the model registry before anything is built or spawned.

The one check of a model name and its ``model_config`` keys: pretraining and fine-tuning configs run it at
load time (a typo is one line naming the key, with a did-you-mean, never a traceback inside a worker
process), and ``build_composer_model`` runs it for callers that build a model without a config.
"""

from __future__ import annotations

from collections.abc import Mapping

from mosaicbert.did_you_mean import did_you_mean

from .registry import MODEL_REGISTRY


class ModelSectionError(ValueError):
    """An unknown model name or ``model_config`` key; the message is one line naming the config key."""


def check_model_section(name: str, model_config: Mapping[str, object], key: str = "model") -> None:
    """``name`` is in ``MODEL_REGISTRY`` and every ``model_config`` key is a field of that model's config class."""
    if name not in MODEL_REGISTRY:
        raise ModelSectionError(f"config key '{key}.name': unknown model {name!r}"
                                f"{did_you_mean(name, MODEL_REGISTRY)}; choose from: {', '.join(MODEL_REGISTRY)}")
    prefix = f"{key}.model_config."
    known = [prefix + field for field in MODEL_REGISTRY[name].config_class().to_dict()]
    for field in model_config:
        if prefix + field not in known:
            raise ModelSectionError(f"unknown config key '{prefix}{field}' for model '{name}'"
                                    f"{did_you_mean(prefix + field, known)}")


def check_sequence_length(name: str, model_config: Mapping[str, object], max_seq_len: int, key: str) -> None:
    """``max_seq_len`` (config key ``key``) fits the network ``model_config`` describes (``NetworkFamily.max_length``;
    the family's defaults where ``model_config`` is silent)."""
    family = MODEL_REGISTRY[name]
    limit = family.max_length(family.config("mlm", dict(model_config), None, None))
    if limit is not None and max_seq_len > limit:
        raise ModelSectionError(f"config key '{key}': {max_seq_len} tokens exceed the {limit} positions of {name}'s "
                                f"position table (max_position_embeddings); use at most {limit}, or ALiBi "
                                "(mosaic_bert, position_embedding_type: alibi)")
