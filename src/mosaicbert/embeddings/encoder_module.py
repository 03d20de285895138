"""Any family's encoder network as the first module of a sentence-transformers pipeline (token ids -> token
embeddings), followed by sentence-transformers' own ``Pooling`` and ``Normalize``: the model the losses train.

The network is the bare encoder of ``models.build.build_network(name, "encoder", ...)``. Its pooler, if it has one,
is frozen: no sentence embedding uses it, and trainable parameters without gradients stall DDP across ranks (it
stays in the export, so the folder loads without fresh weights).
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext

import torch
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
from torch import nn
from transformers import PreTrainedModel

from .pooling import POOLING_MODES

NETWORK_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class EncoderModule(nn.Module):
    """``features`` (tokenizer output) -> ``features["token_embeddings"]``, padded ``(batch, seq, hidden)`` in fp32;
    under ``autocast_dtype`` (bf16 on a CPU with native bf16, or a GPU) the network runs in that dtype, in every
    pass (the cached loss re-embeds in its backward pass: outside the trainer's own autocast)."""

    def __init__(self, network: PreTrainedModel, autocast_dtype: torch.dtype | None = None):
        super().__init__()
        if getattr(network, "pooler", None) is not None:
            network.pooler.requires_grad_(False)
        self.network = network
        self.autocast_dtype = autocast_dtype
        accepted = inspect.signature(network.forward).parameters
        self.inputs = tuple(name for name in NETWORK_INPUTS if name in accepted)

    def forward(self, features: dict) -> dict:
        inputs = {name: features[name] for name in self.inputs if name in features}
        device_type = features["input_ids"].device.type
        cast = (torch.autocast(device_type, dtype=self.autocast_dtype) if self.autocast_dtype is not None
                else nullcontext())
        with cast:
            hidden = self.network(**inputs, return_dict=True).last_hidden_state
        return {**features, "token_embeddings": hidden.float()}


def sentence_pipeline(network: PreTrainedModel, pooling: str = "mean", normalize: bool = True,
                      autocast_dtype: torch.dtype | None = None) -> nn.Sequential:
    """Encoder, pooling and (optionally) normalisation, each taking and returning the features dict."""
    modules: list[nn.Module] = [EncoderModule(network, autocast_dtype),
                                Pooling(network.config.hidden_size, pooling_mode=POOLING_MODES[pooling])]
    if normalize:
        modules.append(Normalize())
    return nn.Sequential(*modules)
