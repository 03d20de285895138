"""The model families by name (``MODEL_REGISTRY``), and the questions asked of all of them: which family a config's
``model_type`` belongs to, the key layout of a checkpoint, which family reads a checkpoint natively.

A new family is its own module (a ``NetworkFamily``) plus one entry in ``FAMILIES``. The order matters where two
families read the same checkpoint: the first wins (an original MosaicBERT checkpoint says ``model_type: bert``;
``mosaic_bert``, before ``hf_bert``, reads it). Nothing in ``models/`` below ``build.py`` imports this module: the
lower layers (weights, FLOPs) take what they need as arguments.
"""

from __future__ import annotations

from .hf_bert import HF_BERT
from .modernbert import MODERNBERT
from .mosaic_bert import MOSAIC_BERT
from .network import NetworkFamily
from .weights import BERT_KEYS, KeyLayout, SourceWeights, UnreadableWeightsError

FAMILIES: tuple[NetworkFamily, ...] = (MOSAIC_BERT, HF_BERT, MODERNBERT)
MODEL_REGISTRY: dict[str, NetworkFamily] = {family.name: family for family in FAMILIES}


def family_of_model_type(model_type: str) -> NetworkFamily | None:
    """The registered family whose config class has ``model_type`` (a plain ``bert`` checkpoint is ``hf_bert``'s);
    None for other model types."""
    return next((f for f in MODEL_REGISTRY.values() if f.config_class.model_type == model_type), None)


def key_layout_of(model_type: str) -> KeyLayout:
    """The state-dict layout of checkpoints of ``model_type``: its family's, BERT's for any other model type
    (``weights.read_weights(init_from, key_layout_of)``)."""
    family = family_of_model_type(model_type)
    return family.key_layout if family is not None else BERT_KEYS


def readable_kinds() -> list[str]:
    """The names of the checkpoint kinds some family reads natively, in registry order."""
    return [kind.name for family in MODEL_REGISTRY.values() for kind in family.reads]


def family_reading(source: SourceWeights) -> NetworkFamily:
    """The first registered family that reads ``source`` natively (``NetworkFamily.reads``); a one-line
    ``UnreadableWeightsError`` naming the checkpoint and the kinds this recipe reads when none does."""
    family = next((f for f in MODEL_REGISTRY.values() if f.reads_natively(source)), None)
    if family is None:
        raise UnreadableWeightsError(f"init_from={source.origin!r} holds a {source.model_type!r} model; this recipe "
                                     f"reads only {', '.join(readable_kinds())} checkpoints")
    return family
