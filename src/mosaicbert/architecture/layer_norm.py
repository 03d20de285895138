"""LayerNorm that can stay in low precision under autocast (autocast otherwise upcasts it to fp32)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LowPrecisionLayerNorm(nn.LayerNorm):
    """Under autocast, normalises in the autocast dtype (e.g. bf16); otherwise a plain ``nn.LayerNorm``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        device_type = x.device.type
        if not torch.is_autocast_enabled(device_type):
            return super().forward(x)
        dtype = torch.get_autocast_dtype(device_type)
        weight = None if self.weight is None else self.weight.to(dtype)
        bias = None if self.bias is None else self.bias.to(dtype)
        with torch.autocast(device_type, enabled=False):
            return F.layer_norm(x.to(dtype), self.normalized_shape, weight, bias, self.eps)


def build_layer_norm(config) -> nn.LayerNorm:
    """The LayerNorm of ``config.hidden_size``, low precision when ``config.low_precision_layernorm``."""
    layer_norm_class = LowPrecisionLayerNorm if config.low_precision_layernorm else nn.LayerNorm
    return layer_norm_class(config.hidden_size, eps=config.layer_norm_eps)
