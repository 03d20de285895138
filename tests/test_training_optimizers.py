"""The fused DecoupledAdamW makes the same updates as Composer's per-tensor DecoupledAdamW."""

import copy

import pytest
import torch
from composer.optim import DecoupledAdamW

from mosaicbert.config.components import build_optimizer
from mosaicbert.data.masking import MLMMasker
from mosaicbert.models.build import build_composer_model
from mosaicbert.optim.fused_adamw import FusedDecoupledAdamW

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


def test_fresh_head_learns_at_its_own_rate(minilm_dir, news_batch):
    """``new_weights_lr_factor``: the new MLM head of an imported encoder steps 10x further on the first AdamW
    step (whose size is the lr); the decoder weight, tied to the imported word embeddings, stays at the base lr."""
    model = build_composer_model("mosaic_bert", "mlm", init_from=str(minilm_dir), init_layers=1,
                                 model_config={"position_embedding_type": "absolute", "ffn_type": "mlp"},
                                 expected_new_weights=("mlm_head",))
    head = model.model.mlm_head
    optimizer = build_optimizer({"name": "decoupled_adamw", "lr": 1e-3}, model, fast_modules=[head], lr_factor=10)
    assert [group["lr"] for group in optimizer.param_groups] == [1e-3, 1e-2]
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == {
        id(p) for name, p in head.named_parameters() if name != "decoder.weight"}
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.loss(model(news_batch), news_batch).backward()
    optimizer.step()
    step = {name: float((p - before[name]).abs().max()) for name, p in model.named_parameters()}
    assert step["model.mlm_head.transform.dense.weight"] == pytest.approx(1e-2, rel=0.01)
    assert step["model.bert.encoder.layer.0.attention.Wqkv.weight"] == pytest.approx(1e-3, rel=0.01)
    assert step["model.bert.embeddings.word_embeddings.weight"] == pytest.approx(1e-3, rel=0.01)
