"""DomainUpsampling in a Composer run on real news: the mixture switches at the configured point (also in
persistent dataloader workers), and runs resumed before, exactly at, or after the switch continue it exactly."""

from __future__ import annotations

import pytest
import torch
from composer import Callback, Trainer

from mosaicbert.algorithms.domain_upsampling import DomainUpsampling
from mosaicbert.data.loaders import build_mlm_dataloader, build_text_dataset
from mosaicbert.data.masking import MLMMasker

SEQ, BATCH, BATCHES = 32, 4, 20  # switch at 0.5dur: 40 samples before, 40 after


class RecordBatches(Callback):
    def __init__(self):
        self.loaded = []

    def after_dataloader(self, state, logger):
        self.loaded.append(state.batch["input_ids"].clone())


def fit(news_mds, tokenizer, make_tiny_mlm, save_folder=None, load_path=None) -> list[torch.Tensor]:
    cfg = {"split": "train", "num_workers": 2, "persistent_workers": True, "streams": {
        "web": {"local": str(news_mds / "tokens"), "proportion": 0.9},
        "domain": {"local": str(news_mds / "tokens"), "split": "val", "proportion": 0.1}}}
    spec = build_mlm_dataloader(cfg, tokenizer, SEQ, BATCH, MLMMasker(tokenizer, 0.3))
    record = RecordBatches()
    trainer = Trainer(model=make_tiny_mlm(), train_dataloader=spec, max_duration=f"{BATCHES}ba",
                      algorithms=[DomainUpsampling("0.5dur", {"web": 0.5, "domain": 0.5})], callbacks=[record],
                      save_folder=save_folder, save_interval="5ba", load_path=load_path, device="cpu",
                      progress_bar=False, log_to_console=False, seed=17)
    trainer.fit()
    trainer.close()
    return record.loaded


@pytest.fixture(scope="module")
def uninterrupted(news_mds, tokenizer, make_tiny_mlm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("upsampling_checkpoints")
    return folder, fit(news_mds, tokenizer, make_tiny_mlm, save_folder=str(folder))


def test_mixture_switches_at_the_configured_point(uninterrupted, news_mds, tokenizer):
    _, batches = uninterrupted
    val = build_text_dataset({"local": str(news_mds / "tokens"), "split": "val", "shuffle": False}, tokenizer, SEQ, 1)
    domain = {tuple(val[i]["input_ids"].tolist()) for i in range(val.num_samples)}
    is_domain = [tuple(row.tolist()) in domain for batch in batches for row in batch]
    assert len(is_domain) == BATCHES * BATCH
    before, after = is_domain[:40], is_domain[40:]
    assert sum(before) == 4  # the first epoch is exactly the 40 samples before the switch, 10% domain
    assert abs(sum(after) / len(after) - 0.5) <= 0.2  # 50% in expectation over the rest (sd 0.08)


@pytest.mark.parametrize("checkpoint", ["ep0-ba5-rank0.pt", "ep0-ba10-rank0.pt", "ep1-ba15-rank0.pt"])
def test_resumed_run_continues_the_schedule(uninterrupted, news_mds, tokenizer, make_tiny_mlm, checkpoint):
    folder, batches = uninterrupted
    resumed = fit(news_mds, tokenizer, make_tiny_mlm, load_path=str(folder / checkpoint))
    done = int(checkpoint.split("-ba")[1].split("-")[0])
    assert len(resumed) == BATCHES - done
    assert all(torch.equal(a, b) for a, b in zip(batches[done:], resumed))


def test_bad_schedules_are_clear_errors(news_mds, tokenizer, make_tiny_mlm):
    with pytest.raises(ValueError, match="must be in dur, sp or ba"):
        DomainUpsampling("2ep", {"domain": 0.5})
    with pytest.raises(ValueError, match="non-negative"):
        DomainUpsampling("0.8dur", {"domain": -1.0})
    cfg = {"split": "train", "streams": {"web": {"local": str(news_mds / "tokens")},
                                         "domain": {"local": str(news_mds / "tokens"), "split": "val"}}}
    for max_duration, proportions, error, match in (("1ep", {"domain": 0.5}, ValueError, "max_duration 1ep"),
                                                    ("8ba", {"medical": 0.5}, KeyError, "unknown stream.*medical")):
        trainer = Trainer(model=make_tiny_mlm(), max_duration=max_duration, device="cpu", progress_bar=False,
                          train_dataloader=build_mlm_dataloader(cfg, tokenizer, SEQ, BATCH, MLMMasker(tokenizer, 0.3)),
                          algorithms=[DomainUpsampling("0.5dur", proportions)], log_to_console=False)
        with pytest.raises(error, match=match):
            trainer.fit()
        trainer.close()
