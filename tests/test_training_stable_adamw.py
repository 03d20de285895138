"""``optimizer.name: stable_adamw``: torch-optimi's StableAdamW with decoupled weight decay, none on biases and
norms, training a tiny ModernBERT on real news; a missing package is one config error naming it."""

import sys

import pytest
import torch
from optimi import StableAdamW

from mosaicbert.config.components import build_optimizer
from mosaicbert.config.loading import ConfigError
from mosaicbert.data.masking import MLMMasker
from mosaicbert.models.build import build_composer_model

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=48, local_attention=8)
RECIPE = {"name": "stable_adamw", "lr": 8e-4, "betas": [0.9, 0.98], "eps": 1e-6, "weight_decay": 1e-5}


def test_builds_groups_without_decay_on_biases_and_norms_and_trains(tokenizer, news_articles):
    torch.manual_seed(0)
    model = build_composer_model("modernbert", "mlm", model_config=TINY)
    optimizer = build_optimizer({**RECIPE, "lr": 3e-3}, model)
    assert isinstance(optimizer, StableAdamW) and optimizer.defaults["decouple_lr"]
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 1e-5 and plain["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])
    norms = [m.weight for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and all(any(n is p for p in plain["params"]) for n in norms)
    assert any(model.model.decoder.bias is p for p in plain["params"])
    batch = MLMMasker(tokenizer, rate=0.3, seed=1)(dict(tokenizer(news_articles[:8], truncation=True, max_length=48,
                                                                  padding=True, return_tensors="pt")))
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = model.loss(model(batch), batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5, losses


def test_weight_decay_is_decoupled_from_the_learning_rate():
    """Without gradients only the decay moves weights: by ``weight_decay x lr / peak lr``, not ``x lr``."""
    layer = torch.nn.Linear(4, 4)
    optimizer = build_optimizer({**RECIPE, "weight_decay": 0.1}, layer)
    before = layer.weight.detach().clone(), layer.bias.detach().clone()
    for p in layer.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    assert torch.allclose(layer.weight, before[0] * 0.9) and torch.equal(layer.bias, before[1])


def test_missing_package_is_one_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "optimi", None)  # as if torch-optimi were not installed
    with pytest.raises(ConfigError) as caught:
        build_optimizer(RECIPE, torch.nn.Linear(2, 2))
    assert str(caught.value) == ("config key 'optimizer': optimizer 'stable_adamw' needs the package 'torch-optimi' "
                                 "(pip install torch-optimi)")
