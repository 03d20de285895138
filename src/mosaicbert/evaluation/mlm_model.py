"""Any MLM checkpoint of this recipe, ready to score: a Composer checkpoint, an HF directory (our export) or a
Hub name, with its family (the registered family that reads the checkpoint natively, ``registry.family_reading``),
its tokenizer and the longest input it can take."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaicbert import exit_codes
from mosaicbert.models.build import wrap_network
from mosaicbert.models.registry import family_reading, key_layout_of
from mosaicbert.models.weights import SourceWeights, read_weights
from mosaicbert.tokenizer import load_tokenizer

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
    """The MLM model of checkpoint ``name`` in the family that reads it natively (``registry.family_reading``)."""
    try:
        source = read_weights(name, key_layout_of)
        family = family_reading(source)
    except ValueError as err:  # not a checkpoint, or another model type: one line naming MODEL
        raise UnreadableModelError(str(err).replace("init_from=", "MODEL ", 1)) from None
    network = family.build("mlm", None, source)
    tokenizer_name = tokenizer_name or _tokenizer_of(name, source, work_dir)
    tokenizer = load_tokenizer(tokenizer_name)
    return MLMModel(wrap_network(family, "mlm", network, tokenizer, autocast_dtype), tokenizer, tokenizer_name,
                    family.name, family.max_length(network.config))
