"""Domain upsampling end to end through main.py's config path: the tiny recipe YAML with two streams of the real
news shards (train articles as "web", val articles as "domain") and ``algorithms.domain_upsampling``; the
mixture of every training batch is measured on the loader main.py builds."""

from __future__ import annotations

from pathlib import Path

import torch
from composer.core import Callback

from mosaicbert.config.components import CALLBACKS
from mosaicbert.data.loaders import build_text_dataset
from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "yamls" / "test" / "mosaic-bert-tiny.yaml"
BATCHES, BATCH, SEQ = 20, 16, 64  # switch at 0.5dur: 160 samples at 90/10, then 160 at 50/50


def test_streams_switch_to_the_upsampled_mixture_in_a_main_py_run(news_mds, tokenizer, tmp_path, monkeypatch):
    loaded: list[torch.Tensor] = []

    class RecordBatches(Callback):
        """The token ids of every training batch as the loader delivered it (before masking)."""

        def after_dataloader(self, state, logger):
            loaded.append(state.batch["input_ids"].clone())

    monkeypatch.setitem(CALLBACKS.entries, "record_batches", RecordBatches)
    text = news_mds / "text"
    streams = (f"{{web: {{local: {text}, proportion: 0.9}}, "
               f"domain: {{local: {text}, split: val, proportion: 0.1}}}}")
    assert pretrain_cli([str(TINY), "train_loader.local=null", f"train_loader.streams={streams}", "eval_loader=null",
                         "algorithms.domain_upsampling={start: 0.5dur, proportions: {web: 0.5, domain: 0.5}}",
                         "callbacks.record_batches={}", f"max_duration={BATCHES}ba", f"save_folder={tmp_path}/ckpt",
                         f"save_interval={BATCHES}ba", f"loggers.tensorboard.log_dir={tmp_path}/tb",
                         "log_to_console=false"]) == 0

    val = build_text_dataset({"local": str(text), "split": "val", "shuffle": False}, tokenizer, SEQ, 1)
    domain = {tuple(val[i]["input_ids"].tolist()) for i in range(val.num_samples)}
    is_domain = [tuple(row.tolist()) in domain for batch in loaded for row in batch]
    assert len(is_domain) == BATCHES * BATCH
    half = BATCHES * BATCH // 2
    before, after = sum(is_domain[:half]), sum(is_domain[half:])
    assert before == 16, before  # the epoch before the switch holds exactly 10% domain samples
    assert abs(after / half - 0.5) <= 0.12, after  # 50% in expectation (sd 0.04)
