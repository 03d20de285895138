"""``compile_config`` (Composer's torch.compile of the model): MosaicBERT compiles, with graph breaks at unpadding's
data-dependent shapes, and trains to the same losses as eager; so does ModernBERT (transformers' own code). ``aot_eager`` traces forward and backward like the
default inductor backend but skips its C++ code generation, which costs minutes on a 2-core CPU."""

from __future__ import annotations

import pytest
import torch
from composer import Trainer
from composer.loggers import InMemoryLogger
from composer.optim import DecoupledAdamW
from torch.utils.data import DataLoader
from transformers import DataCollatorForLanguageModeling

from mosaicbert.models.build import build_composer_model

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)


def _losses(name, samples, collator, compile_config):
    torch.manual_seed(0)
    model = build_composer_model(name, "mlm", model_config=TINY)
    logger = InMemoryLogger()
    trainer = Trainer(model=model, train_dataloader=DataLoader(samples, batch_size=8, collate_fn=collator),
                      max_duration="2ba", optimizers=DecoupledAdamW(model.parameters(), lr=3e-3, weight_decay=0.0),
                      loggers=[logger], device="cpu", progress_bar=False, log_to_console=False, seed=17,
                      compile_config=compile_config)
    trainer.fit()
    trainer.close()
    return [float(v) for _, v in logger.data["loss/train/total"]]


@pytest.mark.parametrize("name", ["mosaic_bert", "modernbert"])
def test_compiled_model_trains_to_the_eager_losses(name, tokenizer, news_sentences):
    samples = [tokenizer(s, truncation=True, max_length=40) for s in news_sentences[:24]]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    eager = _losses(name, samples, collator, None)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = _losses(name, samples, collator, {"backend": "aot_eager"})
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0  # dynamo did trace the model
    assert compiled == pytest.approx(eager, abs=1e-5)
