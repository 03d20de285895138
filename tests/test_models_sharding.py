"""FSDP on one CPU rank (Composer's FSDP2; its FSDP1 needs CUDA): one unit and one activation-checkpoint region
per encoder layer, the same training losses as without FSDP, and the full weights gathered back for export.

Two ranks with real sharding: ``test_main_e2e.py::test_fsdp_on_two_ranks_matches_one_rank_and_exports``.
"""

from __future__ import annotations

import pytest
import torch
from composer import Trainer
from composer.loggers import InMemoryLogger
from composer.optim import DecoupledAdamW
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import CheckpointWrapper
from torch.distributed.fsdp import FSDPModule
from torch.utils.data import DataLoader
from transformers import DataCollatorForLanguageModeling

from mosaicbert.config.loading import ConfigError
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.models.sharding import full_network
from mosaicbert.training.fsdp import build_fsdp_config

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)


def _fit(name: str, samples, collator, fsdp: dict | None):
    torch.manual_seed(0)
    model = build_composer_model(name, "mlm", model_config=TINY)
    torch.manual_seed(1)  # the same masks in both runs
    logger = InMemoryLogger()
    trainer = Trainer(model=model, train_dataloader=DataLoader(samples, batch_size=8, collate_fn=collator),
                      max_duration="3ba", optimizers=DecoupledAdamW(model.parameters(), lr=3e-3, weight_decay=0.0),
                      loggers=[logger], device="cpu", progress_bar=False, log_to_console=False, seed=17,
                      parallelism_config=None if fsdp is None else {"fsdp": build_fsdp_config(fsdp, "cpu")})
    trainer.fit()
    return trainer, [float(v) for _, v in logger.data["loss/train/total"]]


@pytest.mark.parametrize("name", ["mosaic_bert", "hf_bert", "modernbert"])
def test_fsdp_shards_and_checkpoints_each_layer_and_trains_like_ddp(name, tokenizer, news_sentences):
    samples = [tokenizer(s, truncation=True, max_length=40) for s in news_sentences[:24]]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    _, plain_losses = _fit(name, samples, collator, fsdp=None)
    trainer, fsdp_losses = _fit(name, samples, collator, fsdp={"activation_checkpointing": True})
    try:
        network = trainer.state.model.model
        layer_class = MODEL_REGISTRY[name].layer_class
        layers = [m for m in network.modules() if isinstance(m, layer_class)]
        assert len(layers) == TINY["num_hidden_layers"]
        assert all(isinstance(layer, FSDPModule) for layer in layers)  # its own unit, not only the root's
        wrappers = [m for m in network.modules() if isinstance(m, CheckpointWrapper)]
        assert [w._checkpoint_wrapped_module for w in wrappers] == layers  # checkpointed per layer, nothing else
        embeddings = network.get_input_embeddings()
        assert not any(isinstance(m, FSDPModule) for m in (embeddings, network.get_output_embeddings()))
        assert fsdp_losses == pytest.approx(plain_losses, abs=1e-4)

        gathered = full_network(trainer.state.model)
        assert type(gathered) is MODEL_REGISTRY[name].task_classes["mlm"]  # not the FSDP subclass
        assert not any(isinstance(m, (FSDPModule, CheckpointWrapper)) for m in gathered.modules())
        sharded = {k: v.full_tensor() for k, v in network.state_dict().items()}
        assert gathered.state_dict().keys() == sharded.keys()
        for key, value in gathered.state_dict().items():
            assert torch.equal(value, sharded[key]), key
        assert gathered.get_input_embeddings().weight is gathered.get_output_embeddings().weight  # still tied
    finally:
        trainer.close()


def test_fsdp_config_errors_are_one_line():
    with pytest.raises(ConfigError, match=r"config key 'fsdp_config': empty; leave it out \(null\) for DDP"):
        build_fsdp_config({}, "cpu")
    with pytest.raises(ConfigError, match=r"'fsdp_config.activation_checkpoints'.*did you mean "
                                          r"'activation_checkpointing'"):
        build_fsdp_config({"activation_checkpoints": True}, "gpu")
    assert build_fsdp_config({"sharding_strategy": "FULL_SHARD"}, "gpu").state_dict_type == "full"
