"""The network under Composer's FSDP: one FSDP unit and one activation-checkpoint region per encoder layer, and
its full weights gathered back for export.

Composer (FSDP1 and FSDP2) asks each child of the ``ComposerModel`` - here the transformers network - for
``fsdp_wrap_fn(module)`` (shard this module as its own unit?) and, when ``activation_checkpointing`` is on,
``activation_checkpointing_fn(module)``. Without them the whole network is a single FSDP unit: all of it is
gathered at once (no memory saving over DDP, more communication) and activation checkpointing does nothing.
The embeddings stay in the root unit with the MLM head, whose decoder shares their weight.
"""

from __future__ import annotations

import copy

from torch import nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
from torch.distributed.fsdp import FSDPModule, FullyShardedDataParallel
from torch.nn.parallel import DistributedDataParallel
from transformers import PreTrainedModel


def shard_per_layer(network: nn.Module, layer_classes: tuple[type[nn.Module], ...]) -> None:
    """Set Composer's FSDP wrap and activation-checkpointing hooks on ``network``: each ``layer_classes`` module."""

    def is_layer(module: nn.Module) -> bool:
        return isinstance(module, layer_classes)

    network.fsdp_wrap_fn = is_layer
    network.activation_checkpointing_fn = is_layer


def is_sharded(module: nn.Module) -> bool:
    """``module`` or a submodule is FSDP-wrapped (FSDP1 or FSDP2)."""
    return any(isinstance(m, (FullyShardedDataParallel, FSDPModule)) for m in module.modules())


def full_network(trainer_model: nn.Module) -> PreTrainedModel | None:
    """The trained network with all its weights, as a plain module, on global rank 0 (``None`` on the others).

    ``trainer_model`` is Composer's ``state.model`` (DDP- or FSDP-wrapped or not). Under FSDP the full state
    dict is gathered - a collective, so every rank must call this - into a fresh copy of the network class.
    """
    from composer.utils import dist  # here: building a network (shard_per_layer) needs no Composer

    composer_model = trainer_model.module if isinstance(trainer_model, DistributedDataParallel) else trainer_model
    network = composer_model.model
    if not is_sharded(network):
        return network if dist.get_global_rank() == 0 else None
    state = get_model_state_dict(network, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if dist.get_global_rank() != 0:
        return None
    plain = _unsharded_class(network)(copy.deepcopy(network.config))
    plain.load_state_dict(state)
    return plain


def _unsharded_class(network: nn.Module) -> type[PreTrainedModel]:
    """The network's own class: FSDP1 wraps the module, FSDP2 swaps in a subclass ``FSDP<Name>(FSDPModule, Name)``."""
    if isinstance(network, FullyShardedDataParallel):
        return type(network.module)
    return next(cls for cls in type(network).__mro__ if not issubclass(cls, FSDPModule))
