"""MLMMasker on real tokenized news: masking statistics, purity of the decisions (rank/batch independence,
determinism), and a rate change reaching the very next batch with persistent dataloader workers."""

from __future__ import annotations

import pytest
import torch

from mosaicbert.data.loaders import build_mlm_dataloader, build_text_dataset
from mosaicbert.data.masking import IGNORE_INDEX, MLMMasker, replacement_token_ids


@pytest.fixture(scope="module")
def news_batch(news_mds, tokenizer) -> dict[str, torch.Tensor]:
    """300 real articles + 189 more, truncated/padded to 128 tokens (with padding in short ones)."""
    samples = []
    for split in ("train", "val"):
        dataset = build_text_dataset({"local": str(news_mds / "tokens"), "split": split, "shuffle": False},
                                     tokenizer, 128, 1)
        samples += [dataset[i] for i in range(dataset.num_samples)]
    return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}


@pytest.mark.parametrize("rate", [0.30, 0.15])
def test_masking_statistics(news_batch, tokenizer, rate):
    masker = MLMMasker(tokenizer, rate)
    special = torch.tensor(tokenizer.all_special_ids)
    eligible = news_batch["attention_mask"].bool() & ~torch.isin(news_batch["input_ids"], special)
    assert (~news_batch["attention_mask"].bool()).sum() > 1000  # the batch does contain padding
    selected, outputs, originals = [], [], []
    for _ in range(5):  # 5 steps x ~58k eligible tokens
        out = masker(news_batch)
        chosen = out["labels"] != IGNORE_INDEX
        assert not (chosen & ~eligible).any(), "a special or padding token was masked"
        assert torch.equal(out["labels"][chosen], news_batch["input_ids"][chosen])
        assert torch.equal(out["input_ids"][~chosen], news_batch["input_ids"][~chosen])
        selected.append(chosen.sum() / eligible.sum())
        outputs.append(out["input_ids"][chosen])
        originals.append(news_batch["input_ids"][chosen])
    assert masker.step == 5
    assert abs(float(torch.stack(selected).mean()) - rate) < 0.01
    outputs, originals = torch.cat(outputs), torch.cat(originals)
    as_mask = outputs == tokenizer.mask_token_id
    unchanged = outputs == originals
    replaced = ~as_mask & ~unchanged
    assert abs(as_mask.float().mean() - 0.8) < 0.01
    assert abs(unchanged.float().mean() - 0.1) < 0.01  # 10% kept, plus the rare random draw of the same token
    assert abs(replaced.float().mean() - 0.1) < 0.01
    allowed = replacement_token_ids(tokenizer)
    assert torch.isin(outputs[replaced], allowed).all()
    assert len(allowed) == 30522 - 5 - 994  # the vocabulary without [PAD] [UNK] [CLS] [SEP] [MASK] and [unused*]
    assert len(outputs[replaced].unique()) > 0.5 * int(replaced.sum())  # spread over the vocabulary


def test_masks_are_a_pure_function_of_seed_step_and_sample(news_batch, tokenizer):
    full = MLMMasker(tokenizer, 0.3, seed=17)(news_batch)
    # two ranks (or microbatches) with the same step see exactly the masks of one rank
    first, second = MLMMasker(tokenizer, 0.3, seed=17), MLMMasker(tokenizer, 0.3, seed=17)
    halves = [first({k: v[::2] for k, v in news_batch.items()}), second({k: v[1::2] for k, v in news_batch.items()})]
    for key in ("input_ids", "labels"):
        assert torch.equal(halves[0][key], full[key][::2]) and torch.equal(halves[1][key], full[key][1::2])
    assert torch.equal(MLMMasker(tokenizer, 0.3, seed=17)(news_batch)["labels"], full["labels"])
    other_seed = MLMMasker(tokenizer, 0.3, seed=18)(news_batch)
    later = MLMMasker(tokenizer, 0.3, seed=17)
    later.step = 1
    for other in (other_seed, later(news_batch)):
        agreement = ((other["labels"] != IGNORE_INDEX) == (full["labels"] != IGNORE_INDEX)).float().mean()
        assert agreement < 0.7  # independent masks agree on ~0.7^2 + 0.3^2 of eligible tokens, fewer overall


def test_evaluation_masker_is_fixed(news_batch, tokenizer):
    masker = MLMMasker(tokenizer, 0.15, dynamic=False)
    first, again = masker(news_batch), masker(news_batch)
    assert masker.step == 0 and torch.equal(first["input_ids"], again["input_ids"])
    with pytest.raises(ValueError, match="within"):
        masker.rate = 1.5


def test_rate_change_reaches_the_next_batch_with_persistent_workers(news_mds, tokenizer):
    masker = MLMMasker(tokenizer, 0.15)
    cfg = {"local": str(news_mds / "tokens"), "split": "train", "num_workers": 2, "persistent_workers": True,
           "prefetch_factor": 4}
    spec = build_mlm_dataloader(cfg, tokenizer, 128, 16, masker)
    special = torch.tensor(tokenizer.all_special_ids)
    for epoch in range(2):  # the second epoch reuses the same (persistent) workers
        for step, batch in enumerate(spec.dataloader):
            if step == 3:
                masker.rate = 0.6 if epoch == 0 else 0.05
            masked = spec.microbatch_transforms(batch)
            eligible = batch["attention_mask"].bool() & ~torch.isin(batch["input_ids"], special)
            measured = float((masked["labels"] != IGNORE_INDEX).sum() / eligible.sum())
            expected = masker.rate
            assert abs(measured - expected) < 0.05, (epoch, step, measured, expected)
            if step == 5:
                break
        masker.rate = 0.15
