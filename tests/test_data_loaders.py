"""Loader sections -> Composer DataSpec: config validation, masking on the device, and the data position
restored from a Composer 0.32 checkpoint (the path main.py relies on for resumption)."""

from __future__ import annotations

import pytest
import torch
from composer import Callback, Event, Trainer
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from mosaicbert.data.loaders import (
    MLMEvalLoaderConfig,
    MLMLoaderConfig,
    build_mlm_dataloader,
    build_text_dataset,
    count_real_tokens,
)
from mosaicbert.data.masking import MLMMasker


def test_loader_section_is_a_strict_structured_config():
    schema = OmegaConf.structured(MLMLoaderConfig)
    with pytest.raises(ConfigKeyError, match="local"):
        OmegaConf.merge(schema, {"locl": "data/news-mds"})
    with pytest.raises(ValidationError):
        OmegaConf.merge(schema, {"num_workers": "many"})
    with pytest.raises(ConfigKeyError):
        OmegaConf.merge(schema, {"streams": {"c4": {"local": "x", "weight": 0.5}}})
    cfg = OmegaConf.merge(schema, {"streams": {"c4": {"local": "x", "proportion": 0.5}}, "num_workers": 2})
    assert cfg.streams.c4.proportion == 0.5 and cfg.shuffle_seed == 17 and cfg.drop_last


def test_missing_dataset_is_a_clear_error(tmp_path, tokenizer):
    masker = MLMMasker(tokenizer, 0.3)
    with pytest.raises(FileNotFoundError, match=r"no MDS dataset at .*nowhere/train"):
        build_mlm_dataloader({"local": str(tmp_path / "nowhere"), "split": "train"}, tokenizer, 128, 8, masker)
    with pytest.raises(FileNotFoundError, match=r"streams\.domain"):
        build_mlm_dataloader({"streams": {"domain": {"local": str(tmp_path)}}, "split": "val"}, tokenizer, 128, 8,
                             masker)


def test_dataspec_masks_each_microbatch_and_counts_real_tokens(news_mds, tokenizer):
    masker = MLMMasker(tokenizer, 0.3)
    spec = build_mlm_dataloader({"local": str(news_mds / "text"), "split": "val", "shuffle": False,
                                 "num_canonical_nodes": 1}, tokenizer, 128, 8, masker)
    batch = next(iter(spec.dataloader))
    assert "labels" not in batch and spec.microbatch_transforms is masker
    assert spec.get_num_tokens_in_batch(batch) == count_real_tokens(batch) == int(batch["attention_mask"].sum())
    assert count_real_tokens(batch) < batch["input_ids"].numel()  # padding is not counted
    masked = spec.microbatch_transforms(batch)
    assert (masked["labels"] != -100).any() and masker.step == 1


def test_eval_loader_evaluates_every_sample(news_mds, tokenizer):
    section = {"local": str(news_mds / "text"), "split": "val", "shuffle": False}
    samples = len(build_text_dataset(section, tokenizer, 128, 8))
    assert samples % 8, "needs a last partial batch"
    spec = build_mlm_dataloader(section, tokenizer, 128, 8, MLMMasker(tokenizer, 0.15), schema=MLMEvalLoaderConfig)
    assert sum(len(batch["input_ids"]) for batch in spec.dataloader) == samples


class RecordBatches(Callback):
    """Each batch as loaded, and whether the model saw it masked."""

    def __init__(self):
        self.loaded, self.masked = [], []

    def after_dataloader(self, state, logger):
        self.loaded.append(state.batch["input_ids"].clone())

    def before_forward(self, state, logger):
        self.masked.append(bool((state.batch["labels"] != -100).any()))


def save_mid_epoch_and_at_epoch_end(state, event) -> bool:
    return event == Event.EPOCH_CHECKPOINT or (event == Event.BATCH_CHECKPOINT and int(state.timestamp.batch) == 3)


def fit(make_tiny_mlm, tokenizer, news_mds, tmp_path, load_path=None) -> RecordBatches:
    cfg = {"local": str(news_mds / "tokens"), "split": "train", "num_workers": 0, "epoch_size": 16}
    spec = build_mlm_dataloader(cfg, tokenizer, 32, 4, MLMMasker(tokenizer, 0.3))
    record = RecordBatches()
    trainer = Trainer(model=make_tiny_mlm(), train_dataloader=spec, max_duration="10ba", callbacks=[record],
                      save_folder=None if load_path else str(tmp_path), save_interval=save_mid_epoch_and_at_epoch_end,
                      load_path=load_path, device="cpu", progress_bar=False, log_to_console=False, seed=17)
    trainer.fit()
    trainer.close()
    return record


def test_composer_checkpoint_resumes_the_exact_data_position(news_mds, tokenizer, make_tiny_mlm, tmp_path):
    """Mid-epoch and at an epoch's end (4 batches per epoch): the resumed run loads what the uninterrupted run did."""
    uninterrupted = fit(make_tiny_mlm, tokenizer, news_mds, tmp_path)
    assert len(uninterrupted.loaded) == 10 and all(uninterrupted.masked)
    assert not torch.equal(uninterrupted.loaded[0], uninterrupted.loaded[4])  # epochs are shuffled differently
    for checkpoint, done in (("ep0-ba3-rank0.pt", 3), ("ep1-ba4-rank0.pt", 4)):
        resumed = fit(make_tiny_mlm, tokenizer, news_mds, tmp_path, load_path=str(tmp_path / checkpoint))
        assert len(resumed.loaded) == 10 - done
        assert all(torch.equal(a, b) for a, b in zip(uninterrupted.loaded[done:], resumed.loaded)), checkpoint
