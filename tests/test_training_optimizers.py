"""The fused DecoupledAdamW makes the same updates as Composer's per-tensor DecoupledAdamW."""

import copy

import pytest
import torch
from composer.optim import DecoupledAdamW

from mosaicbert.data.masking import MLMMasker
from mosaicbert.models import build_composer_model
from mosaicbert.training import build_optimizer
from mosaicbert.training.fused_adamw import FusedDecoupledAdamW

# no dropout: both runs see identical forward passes
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
LR_FACTORS = [0.1, 0.55, 1.0, 0.8, 0.6, 0.4, 0.2, 0.05]  # warmup then decay, like the recipe's schedule


@pytest.fixture(scope="module")
def news_batch(tokenizer, news_articles):
    encoded = tokenizer(news_articles[:8], truncation=True, max_length=64, padding="max_length", return_tensors="pt")
    return MLMMasker(tokenizer, rate=0.3, seed=3)(dict(encoded))


def _train(model, optimizer, batch) -> list[float]:
    losses = []
    initial_lr = optimizer.param_groups[0]["lr"]
    for factor in LR_FACTORS:
        for group in optimizer.param_groups:
            group["initial_lr"] = initial_lr
            group["lr"] = initial_lr * factor
        optimizer.zero_grad()
        loss = model.loss(model(batch), batch)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_fused_decoupled_adamw_matches_composer(tokenizer, news_batch, weight_decay):
    torch.manual_seed(0)
    reference = build_composer_model("mosaic_bert", "mlm", model_config=TINY)
    fused = copy.deepcopy(reference)
    hyper = {"lr": 3.0e-3, "betas": (0.9, 0.98), "eps": 1.0e-6, "weight_decay": weight_decay}
    reference_losses = _train(reference, DecoupledAdamW(reference.parameters(), **hyper), news_batch)
    fused_losses = _train(fused, FusedDecoupledAdamW(fused.parameters(), **hyper), news_batch)
    assert fused_losses == pytest.approx(reference_losses, rel=1e-5)
    assert reference_losses[-1] < reference_losses[0] - 0.5  # the model did learn: the updates are not trivial
    for (name, a), b in zip(reference.named_parameters(), fused.parameters()):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6, msg=lambda details: f"{name}: {details}")


def test_state_is_interchangeable_with_composer(tokenizer, news_batch):
    """A checkpointed Composer DecoupledAdamW state resumes in the fused optimizer, continuing identically."""
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "mlm", model_config=TINY)
    hyper = {"lr": 1.0e-3, "weight_decay": 0.01}
    composer_optimizer = DecoupledAdamW(model.parameters(), **hyper)
    _train(model, composer_optimizer, news_batch)
    fused_optimizer = FusedDecoupledAdamW(model.parameters(), **hyper)
    fused_optimizer.load_state_dict(copy.deepcopy(composer_optimizer.state_dict()))
    assert fused_optimizer.state_dict()["state"].keys() == composer_optimizer.state_dict()["state"].keys()
    continued = copy.deepcopy(model)
    continued_optimizer = DecoupledAdamW(continued.parameters(), **hyper)
    continued_optimizer.load_state_dict(copy.deepcopy(composer_optimizer.state_dict()))
    assert _train(model, fused_optimizer, news_batch) == pytest.approx(
        _train(continued, continued_optimizer, news_batch), rel=1e-5)


def test_registry_builds_the_fused_optimizer_for_the_recipe_name():
    model = torch.nn.Linear(4, 4)
    assert type(build_optimizer({"name": "decoupled_adamw", "lr": 1e-3}, model)) is FusedDecoupledAdamW
    assert type(build_optimizer({"name": "decoupled_adamw_loop", "lr": 1e-3}, model)) is DecoupledAdamW
