"""Any MLM checkpoint of this recipe, ready to score: a Composer checkpoint, an HF directory (our export) or a
Hub name, with its family (from the checkpoint's format), its tokenizer and the longest input it can take."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaicbert import exit_codes
from mosaicbert.models import MODEL_REGISTRY
from mosaicbert.models.hf_io import SOURCE_FORMATS, source_format
from mosaicbert.models.tasks import MaskedLMComposerModel
from mosaicbert.models.weights import SourceWeights, read_weights
from mosaicbert.tokenizer import load_tokenizer

# checkpoint format (models/hf_io.py) -> the family that scores it without conversion loss
FAMILY_OF_FORMAT = {"mosaic_bert": "mosaic_bert", "original_mosaic_bert": "mosaic_bert", "bert": "hf_bert"}
assert set(FAMILY_OF_FORMAT) == set(SOURCE_FORMATS), "a new checkpoint format needs its family here"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")


class UnreadableModelError(ValueError):
    """MODEL exists but holds no weights of a format this recipe reads."""

    exit_code = exit_codes.FAILED


@dataclass
class MLMModel:
    """A model to score and what the scoring needs to know about it."""

    model: Any  # MaskedLMComposerModel
    tokenizer: Any
    tokenizer_name: str  # a name or path convert_dataset's tokenizer option accepts
    family: str
    max_length: int | None  # the family's limit (NetworkFamily.max_length); None: ALiBi extrapolates


def _tokenizer_of(name: str, source: SourceWeights, work_dir: Path) -> str:
    """An HF directory's own tokenizer, a Composer checkpoint's saved one (written to ``work_dir``), else the
    Hub name itself."""
    path = Path(name).expanduser()
    if path.is_dir():
        if any((path / f).is_file() for f in TOKENIZER_FILES):
            return str(path)
        raise FileNotFoundError(f"{name}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); give --tokenizer")
    if path.is_file():
        import torch
        from composer.models import HuggingFaceModel

        state = torch.load(path, map_location="cpu", weights_only=False)["state"]
        tokenizer = HuggingFaceModel.load_huggingface_tokenizer_from_saved_state(
            state.get("integrations", {}).get("huggingface", {}), tokenizer_save_dir=str(work_dir))
        if tokenizer is None:
            raise FileNotFoundError(f"{name}: the checkpoint holds no tokenizer; give --tokenizer")
        return str(work_dir)
    return name


def load_mlm_model(name: str, work_dir: Path, tokenizer_name: str | None = None,
                   autocast_dtype: Any = None) -> MLMModel:
    """The MLM model of checkpoint ``name`` in its own family (``models.MODEL_REGISTRY``)."""
    try:
        source = read_weights(name)
        family = FAMILY_OF_FORMAT[source_format(source).name]
    except ValueError as err:  # not a checkpoint, or another model type: one line naming MODEL
        raise UnreadableModelError(str(err).replace("init_from=", "MODEL ", 1)) from None
    network = MODEL_REGISTRY[family].build("mlm", None, source)
    tokenizer_name = tokenizer_name or _tokenizer_of(name, source, work_dir)
    tokenizer = load_tokenizer(tokenizer_name)
    return MLMModel(MaskedLMComposerModel(network, tokenizer, autocast_dtype), tokenizer, tokenizer_name, family,
                    MODEL_REGISTRY[family].max_length(network.config))
