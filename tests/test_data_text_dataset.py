"""StreamingTextDataset over the real news corpus: identical inputs from text and token ids, determinism,
exact mid-epoch resume, stream mixtures, and two real ranks (gloo) that split the data without overlap."""

from __future__ import annotations

import multiprocessing
import os
import socket
from collections import Counter

import pytest
import torch
from streaming import StreamingDataLoader

from mosaicbert.data.loaders import MLMLoaderConfig, build_text_dataset
from mosaicbert.data.text_dataset import StreamingTextDataset

SEQ = 128


def rows(batches) -> list[tuple[int, ...]]:
    """Each sample's input_ids as a tuple, in order."""
    return [tuple(row.tolist()) for batch in batches for row in batch["input_ids"]]


def loader(dataset, num_workers: int = 0, batch_size: int = 8) -> StreamingDataLoader:
    return StreamingDataLoader(dataset, batch_size=batch_size, num_workers=num_workers, drop_last=False,
                               persistent_workers=num_workers > 0)


def tokens_dataset(news_mds, tokenizer, split: str = "train", **cfg) -> StreamingTextDataset:
    """The token-id split on this test's one node (one canonical node: the recipe's 8 would pad 300 samples to 304)."""
    cfg = {"num_canonical_nodes": 1, **cfg}
    return build_text_dataset(MLMLoaderConfig(local=str(news_mds / "tokens"), split=split, **cfg), tokenizer, SEQ, 8)


def test_text_and_token_ids_give_identical_model_inputs(news_mds, tokenizer):
    text = build_text_dataset(MLMLoaderConfig(local=str(news_mds / "text"), split="train", shuffle=False,
                                              num_canonical_nodes=1),
                              tokenizer, SEQ, 8)
    tokens = tokens_dataset(news_mds, tokenizer, shuffle=False)
    for i in range(200):
        a, b = text[i], tokens[i]
        assert a.keys() == b.keys() == {"input_ids", "attention_mask", "token_type_ids"}
        for key in a:
            assert a[key].dtype == torch.long and a[key].shape == (SEQ,)
            assert torch.equal(a[key], b[key]), (i, key)
    sample = tokens[0]
    real = int(sample["attention_mask"].sum())
    assert sample["input_ids"][0] == tokenizer.cls_token_id and sample["input_ids"][real - 1] == tokenizer.sep_token_id
    assert (sample["input_ids"][real:] == tokenizer.pad_token_id).all()


def test_order_is_deterministic_from_the_seed(news_mds, tokenizer):
    first = rows(loader(tokens_dataset(news_mds, tokenizer, shuffle_seed=17)))
    again = rows(loader(tokens_dataset(news_mds, tokenizer, shuffle_seed=17)))
    other = rows(loader(tokens_dataset(news_mds, tokenizer, shuffle_seed=18)))
    unshuffled = rows(loader(tokens_dataset(news_mds, tokenizer, shuffle=False)))
    assert first == again and len(first) == 300
    assert first != other and sorted(first) == sorted(other) == sorted(unshuffled)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_mid_epoch_resume_yields_exactly_the_remaining_samples(news_mds, tokenizer, num_workers):
    uninterrupted = rows(loader(tokens_dataset(news_mds, tokenizer), num_workers))
    interrupted = loader(tokens_dataset(news_mds, tokenizer), num_workers)
    seen = []
    for step, batch in enumerate(interrupted):
        seen.append(batch)
        if step == 22:
            break
    state = interrupted.state_dict()
    del interrupted
    resumed = loader(tokens_dataset(news_mds, tokenizer), num_workers)
    resumed.load_state_dict(state)
    assert rows(seen) + rows(resumed) == uninterrupted


def test_two_stream_mixture_respects_proportions(news_mds, tokenizer):
    """Streaming draws each epoch's per-stream counts exactly (to one sample); order is shuffled across streams."""
    domain = set(rows(loader(tokens_dataset(news_mds, tokenizer, split="val", shuffle=False))))
    cfg = {"split": "train", "epoch_size": 1000, "streams": {  # as in a YAML loader section
        "web": {"local": str(news_mds / "tokens"), "proportion": 0.75},
        "domain": {"local": str(news_mds / "tokens"), "split": "val", "proportion": 0.25}}}
    dataset = build_text_dataset(cfg, tokenizer, SEQ, 8)
    assert dataset.proportions == pytest.approx({"web": 0.75, "domain": 0.25})
    epoch = rows(loader(dataset))
    is_domain = [row in domain for row in epoch]
    assert len(epoch) == 1000
    assert abs(sum(is_domain) - 250) <= 1  # whole epoch: exact up to rounding
    assert abs(sum(is_domain[:200]) / 200 - 0.25) <= 0.10  # any 200-sample stretch: within 10 points
    assert len({row for row, d in zip(epoch, is_domain) if d}) == len(domain)  # upsampled: every val doc drawn


def _rank_main(rank: int, port: int, root: str, queue) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE="2",
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from mosaicbert.tokenizer import load_tokenizer

    dataset = build_text_dataset(MLMLoaderConfig(local=root, split="train", num_canonical_nodes=1), load_tokenizer("bert-base-uncased"),
                                 SEQ, 8)
    queue.put((rank, len(dataset), rows(loader(dataset))))


def test_two_ranks_each_see_their_own_part(news_mds, tokenizer):
    """Two real ranks (fresh processes, torch.distributed gloo set up by Streaming) split one epoch."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("spawn")  # a fork of a test worker inherits its threads' locks
    queue = context.Queue()
    ranks = [context.Process(target=_rank_main, args=(r, port, str(news_mds / "tokens"), queue)) for r in (0, 1)]
    try:
        for process in ranks:
            process.start()
        results = dict((rank, (length, seen)) for rank, length, seen in (queue.get(timeout=300) for _ in ranks))
    finally:
        for process in ranks:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in ranks] == [0, 0]
    whole = rows(loader(tokens_dataset(news_mds, tokenizer)))
    assert results[0][0] == results[1][0] == 150
    assert len(results[0][1]) == len(results[1][1]) == 150
    assert Counter(results[0][1]) + Counter(results[1][1]) == Counter(whole)
    assert not set(results[0][1]) & set(results[1][1])


def _start_at_once(root: str, barrier, results) -> None:
    from mosaicbert.tokenizer import load_tokenizer

    tokenizer = load_tokenizer("bert-base-uncased")
    barrier.wait(timeout=120)
    try:
        dataset = build_text_dataset(MLMLoaderConfig(local=root, split="val", num_canonical_nodes=1), tokenizer, SEQ, 8)
        results.put(("ok", dataset._shm_prefix_int))
    except Exception as error:  # the failure itself is the result
        results.put(("failed", f"{type(error).__name__}: {error}"))
    barrier.wait(timeout=120)  # every dataset stays alive (its prefix taken) until all were built


def test_datasets_started_at_the_same_moment_on_one_machine_all_start(news_mds, tmp_path):
    """Streaming's free-prefix search races between processes (mosaicml/streaming#689): four jobs starting at once."""
    import shutil

    context = multiprocessing.get_context("spawn")  # fresh interpreters, as separate jobs are
    jobs = 4
    barrier, results = context.Barrier(jobs), context.Queue()
    roots = [shutil.copytree(news_mds / "tokens", tmp_path / f"job{i}") for i in range(jobs)]
    processes = [context.Process(target=_start_at_once, args=(str(root), barrier, results)) for root in roots]
    try:
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=300) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    assert [status for status, _ in outcomes] == ["ok"] * jobs, outcomes
    assert len({prefix for _, prefix in outcomes}) == jobs


def test_a_held_registration_lock_delays_a_dataset_but_does_not_stop_it(news_mds, tokenizer, tmp_path, monkeypatch,
                                                                         caplog):
    """A process hung while registering holds the machine-wide lock: others wait WAIT_S, then go on without it."""
    from filelock import FileLock

    from mosaicbert.data import shared_memory_registration as registration

    monkeypatch.setattr(registration, "WAIT_S", 0.2)
    monkeypatch.setattr(registration, "LOCK_FILE", tmp_path / "registration.lock")
    with FileLock(tmp_path / "registration.lock"):  # another open of the file: flock conflicts with it
        with caplog.at_level("WARNING", logger=registration.__name__):
            dataset = tokens_dataset(news_mds, tokenizer, split="val")
    assert len(dataset) == 189
    assert "building the dataset without it" in caplog.text


def test_a_dataset_takes_its_prefix_from_the_jobs_own_range(news_mds, tokenizer):
    """MOSAICBERT_SHM_PREFIX_START separates jobs on one machine; each xdist worker of this suite is such a job."""
    from mosaicbert.data.shared_memory_registration import PREFIX_START_ENV

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):  # the workers inherit the controller's environment: the range must still differ
        assert os.environ[PREFIX_START_ENV] == str(100000 * (1 + int(worker[2:])))
    start = int(os.environ.get(PREFIX_START_ENV, "0") or 0)
    dataset = tokens_dataset(news_mds, tokenizer, split="val")
    assert start <= dataset._shm_prefix_int < start + 100000
