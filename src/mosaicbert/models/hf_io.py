"""Export to a self-contained Hugging Face directory, for every family (what a family imports lives with it, e.g.
MosaicBERT's checkpoint formats in ``mosaic_bert_import.py``).

``export_to_hf`` writes config, safetensors weights and tokenizer files. A family whose networks are remote code
(``NetworkFamily.export_auto_classes``: MosaicBERT) also gets its ``architecture`` source files registered in the
config's ``auto_map``, so ``AutoModelForMaskedLM.from_pretrained(dir, trust_remote_code=True)`` and
``pipeline("fill-mask", ...)`` work without this package installed; the others load with the plain auto classes.
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
from pathlib import Path

from composer.models import HuggingFaceModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .registry import MODEL_REGISTRY

log = logging.getLogger(__name__)


def export_auto_classes(network: PreTrainedModel) -> dict[type[PreTrainedModel], str]:
    """The remote-code auto classes of the family whose ``export_auto_classes`` names ``network``'s class (empty: a
    native transformers export)."""
    return next((family.export_auto_classes for family in MODEL_REGISTRY.values()
                 if type(network) in family.export_auto_classes), {})


def input_names(network: PreTrainedModel) -> tuple[str, ...] | None:
    """The inputs the family of ``network``'s class takes (``NetworkFamily.input_names``), if it says."""
    return next((family.input_names for family in MODEL_REGISTRY.values()
                 if any(isinstance(network, cls) for cls in family.task_classes.values())), None)


def _name_transformers_class(network: PreTrainedModel, config_file: Path) -> None:
    """``architectures`` of a native export: the transformers class the network is or extends."""
    native = next(cls for cls in type(network).__mro__ if cls.__module__.startswith("transformers."))
    config = json.loads(config_file.read_text())
    config["architectures"] = [native.__name__]
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def export_to_hf(model: HuggingFaceModel | PreTrainedModel, out_dir: str | Path,
                 tokenizer: PreTrainedTokenizerBase | None = None) -> Path:
    """Write the network (the wrapped one of a ``HuggingFaceModel``) and its tokenizer as a Hugging Face directory;
    replaces ``out_dir`` atomically. Under FSDP pass ``sharding.full_network(...)``: it holds the gathered weights.

    Remote-code networks (``NetworkFamily.export_auto_classes``, MosaicBERT's) carry their code (``auto_map``: load
    with ``trust_remote_code=True``); transformers' networks (BERT, ModernBERT) load with the plain auto classes,
    under the name of the transformers class they are or extend (``SparseModernBertForMaskedLM`` exports as
    ``ModernBertForMaskedLM``).
    """
    network = model.model if isinstance(model, HuggingFaceModel) else model
    if tokenizer is None and isinstance(model, HuggingFaceModel):
        tokenizer = model.tokenizer
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    auto_classes = export_auto_classes(network)
    auto_class = auto_classes.get(type(network))
    if auto_class is not None:
        type(network.config).register_for_auto_class("AutoConfig")
        type(network).register_for_auto_class(auto_class)
        base = next((cls for cls, name in auto_classes.items() if name == "AutoModel"), None)
        if auto_class != "AutoModel" and base is not None:
            network.config.auto_map = {**(getattr(network.config, "auto_map", None) or {}),
                                       "AutoModel": f"{base.__module__.rsplit('.', 1)[-1]}.{base.__name__}"}
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        staging = Path(tmp) / "export"
        network.save_pretrained(staging, safe_serialization=True)
        if auto_class is None:
            _name_transformers_class(network, staging / "config.json")
        if tokenizer is not None:
            names = input_names(network)
            if names is not None and list(tokenizer.model_input_names) != list(names):
                tokenizer = copy.deepcopy(tokenizer)  # the caller's tokenizer keeps its inputs
                tokenizer.model_input_names = list(names)
                tokenizer.init_kwargs["model_input_names"] = list(names)  # what save_pretrained writes
            tokenizer.save_pretrained(staging)
        if out_dir.exists():
            out_dir.rename(Path(tmp) / "previous")
        staging.rename(out_dir)
    log.info("exported %s to %s", type(network).__name__, out_dir)
    return out_dir
