"""Any embedding model as a ``SentenceTransformer``: a sentence-transformers folder with its own modules (pooling,
normalisation) as saved, else a Hugging Face encoder (directory or Hub name) mean-pooled. Remote code is trusted:
this recipe's MosaicBERT exports carry their network's code."""

from __future__ import annotations

from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

ST_MODULES_FILE = "modules.json"


def is_sentence_transformers_folder(path: str | Path) -> bool:
    return (Path(path) / ST_MODULES_FILE).is_file()


def load_embedding_model(name_or_path: str, *, device: str | None = None,
                         max_seq_length: int | None = None) -> SentenceTransformer:
    """The model, in eval mode; ``max_seq_length`` replaces the saved one when given."""
    if is_sentence_transformers_folder(name_or_path):
        model = SentenceTransformer(name_or_path, device=device, trust_remote_code=True)
    else:
        remote = {"trust_remote_code": True}
        transformer = Transformer(name_or_path, model_kwargs=remote, config_kwargs=remote, processor_kwargs=remote,
                                  max_seq_length=max_seq_length)
        model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")],
                                    device=device)
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    return model.eval()
