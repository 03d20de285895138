"""Reading weights to start from (HF checkpoint or Composer checkpoint) and fitting them into a network.

``read_weights(init_from, key_layout_of)`` accepts a Hugging Face model directory, a Hub name, or a Composer
checkpoint file (local path or URI) of this recipe; ``key_layout_of(model_type)`` (the registry's) says under which
prefix a headless checkpoint's keys go. This module knows no family: what it needs comes as arguments.
``load_weights(model, state_dict, ...)`` loads them and raises one ``WeightsMismatchError`` listing everything
that does not fit, unless the caller declared those parameters as new heads.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from transformers import PreTrainedModel

from mosaicbert import exit_codes

log = logging.getLogger(__name__)
T = TypeVar("T")

# Checkpoint files of a Hugging Face model directory, in order of preference (index = sharded).
HF_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                   "pytorch_model.bin.index.json")
# Files fetched from the Hub, first choice first.
HUB_WEIGHT_PATTERNS = (("*.safetensors", "model.safetensors.index.json"),
                       ("pytorch_model*.bin", "pytorch_model.bin.index.json"))
# Keys of a config.json that describe the file, not the network.
CONFIG_METADATA_KEYS = ("architectures", "auto_map", "model_type", "transformers_version", "_name_or_path",
                        "torch_dtype", "dtype", "_attn_implementation_autoset")
# Prefix of the weights inside a Composer checkpoint: the attribute holding the network in HuggingFaceModel.
COMPOSER_MODEL_PREFIX = "model."
# Legacy names of TensorFlow-converted BERT checkpoints.
LEGACY_LAYERNORM_NAMES = {"LayerNorm.gamma": "LayerNorm.weight", "LayerNorm.beta": "LayerNorm.bias"}


@dataclass(frozen=True)
class KeyLayout:
    """Where a family's state dict keeps its encoder: the base model's prefix (added to headless checkpoints, whose
    keys lack it) and the key of encoder layer N (``init_layers``). Declared by each family (``NetworkFamily``)."""

    prefix: str
    layer_key: re.Pattern

    def layer_of(self, key: str) -> int | None:
        match = self.layer_key.match(key)
        return int(match.group(1)) if match else None


BERT_KEYS = KeyLayout("bert.", re.compile(r"bert\.encoder\.layer\.(\d+)\."))


@dataclass
class SourceWeights:
    """Weights to start from: a state dict (keys under its family's prefix, ``bert.`` or ``model.``) and the config
    of the network they came from."""

    state_dict: dict[str, torch.Tensor]
    config: dict = field(default_factory=dict)
    origin: str = ""

    @property
    def model_type(self) -> str:
        return self.config.get("model_type", "bert")

    def network_config(self) -> dict:
        """The source's config without file metadata (``model_type``, ``architectures``, ``auto_map``, ...)."""
        return {k: v for k, v in self.config.items() if k not in CONFIG_METADATA_KEYS}

    def first_layers(self, count: int, layout: KeyLayout) -> SourceWeights:
        """The source cut to its bottom ``count`` encoder layers (found by ``layout``, its family's): a shallower,
        faster network that keeps most of what the checkpoint learned (dropping top layers, Sajjad et al. 2023),
        e.g. to adapt a sentence encoder, whose top layers serve its pooling, to masked-word prediction."""
        layer_of = {key: layer for key in self.state_dict if (layer := layout.layer_of(key)) is not None}
        available = max(layer_of.values(), default=-1) + 1
        if not 1 <= count <= available:
            raise WeightsMismatchError(f"init_layers={count}: {self.origin} has {available} encoder layers; "
                                       f"choose 1 to {available}", [], [], [])
        kept = {k: v for k, v in self.state_dict.items() if layer_of.get(k, -1) < count}
        return SourceWeights(kept, {**self.config, "num_hidden_layers": count}, self.origin)


class WeightsMismatchError(ValueError):
    """Weights that do not fit a network: missing, unexpected and differently-shaped parameters."""

    exit_code = exit_codes.FAILED

    def __init__(self, message: str, missing: list[str], unexpected: list[str],
                 mismatched: list[tuple[str, tuple, tuple]]):
        super().__init__(message)
        self.missing, self.unexpected, self.mismatched = missing, unexpected, mismatched


class UnreadableWeightsError(ValueError):
    """A source that exists but holds no weights this recipe reads (corrupt file, another kind of model)."""

    exit_code = exit_codes.FAILED


def is_local_path(init_from: str | Path) -> bool:
    """``init_from`` can only be a local file or directory (absolute, ``./``, ``~``): not a Hub name or URI."""
    return Path(init_from).expanduser().is_absolute() or str(init_from).startswith((".", "~"))


def read_weights(init_from: str | Path,
                 key_layout_of: Callable[[str], KeyLayout | None] | None = None) -> SourceWeights:
    """Read the weights named by ``init_from``: HF directory, Composer checkpoint file/URI, or Hub name.

    ``key_layout_of(model_type)``: the layout of checkpoints of that model type (``registry.key_layout_of``); a
    headless checkpoint's keys go under its prefix. None: the keys as stored (legacy names modernised only)."""
    layout_of = key_layout_of or (lambda model_type: None)
    path = Path(init_from).expanduser()
    if path.is_dir():
        return _read_hf_dir(path, str(init_from), layout_of)
    if path.is_file():
        return _read_composer_checkpoint(path, str(init_from), layout_of)
    if is_local_path(init_from):
        raise FileNotFoundError(f"init_from={str(init_from)!r}: no such file or directory")
    if "://" in str(init_from):
        from composer.utils import get_file

        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "checkpoint.pt"
            get_file(str(init_from), str(local))
            return _read_composer_checkpoint(local, str(init_from), layout_of)
    return _read_hub_model(str(init_from), layout_of)


def _read_hub_model(name: str, layout_of: Callable[[str], KeyLayout | None]) -> SourceWeights:
    from huggingface_hub import snapshot_download

    try:
        for weight_patterns in HUB_WEIGHT_PATTERNS:  # safetensors when the repository has them, else .bin
            local_dir = Path(snapshot_download(name, allow_patterns=["config.json", *weight_patterns]))
            if any((local_dir / file).is_file() for file in HF_WEIGHT_FILES):
                break
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f"init_from={name!r} is not a local file or directory and could not be fetched "
                                f"from the Hugging Face Hub ({type(err).__name__}: {err})") from None
    return _read_hf_dir(local_dir, name, layout_of)


def _read_hf_dir(path: Path, origin: str, layout_of: Callable[[str], KeyLayout | None]) -> SourceWeights:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"init_from={origin!r}: {config_file} not found (not a Hugging Face model directory)")
    config = _readable(config_file, origin, lambda: json.loads(config_file.read_text()))
    weight_file = next((path / name for name in HF_WEIGHT_FILES if (path / name).is_file()), None)
    if weight_file is None:
        raise FileNotFoundError(f"init_from={origin!r}: no weights in {path} (looked for {', '.join(HF_WEIGHT_FILES)})")
    if weight_file.name.endswith(".index.json"):
        index = _readable(weight_file, origin, lambda: json.loads(weight_file.read_text())["weight_map"])
        state_dict = {}
        for shard in sorted(set(index.values())):
            state_dict.update(_readable(path / shard, origin, lambda: _load_weight_file(path / shard)))
    else:
        state_dict = _readable(weight_file, origin, lambda: _load_weight_file(weight_file))
    return _source(state_dict, config, origin, layout_of)


def _source(state_dict: dict[str, torch.Tensor], config: dict, origin: str,
            layout_of: Callable[[str], KeyLayout | None]) -> SourceWeights:
    return SourceWeights(_normalise_keys(state_dict, layout_of(config.get("model_type", "bert"))), config, origin)


def _readable(file: Path, origin: str, read: Callable[[], T]) -> T:
    """``read()``, a corrupt or truncated ``file`` as one line naming it."""
    try:
        return read()
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, TypeError, OSError, EOFError, RuntimeError, pickle.UnpicklingError,
            SafetensorError) as err:
        first_line = next(iter(str(err).splitlines()), "")
        raise UnreadableWeightsError(f"init_from={origin!r}: {file} is not a readable checkpoint "
                                     f"({type(err).__name__}: {first_line})") from None


def _load_weight_file(file: Path) -> dict[str, torch.Tensor]:
    if file.suffix == ".safetensors":
        return load_file(str(file))
    return torch.load(file, map_location="cpu", weights_only=True)


def _read_composer_checkpoint(path: Path, origin: str,
                              layout_of: Callable[[str], KeyLayout | None]) -> SourceWeights:
    # Composer checkpoints pickle the training state (timestamps, RNG): only load checkpoints you trust.
    checkpoint = _readable(path, origin, lambda: torch.load(path, map_location="cpu", weights_only=False))
    try:
        model_state = checkpoint["state"]["model"]
    except (KeyError, TypeError):
        raise UnreadableWeightsError(f"init_from={origin!r} is not a Composer checkpoint (no state['model'])") from None
    hf_state = checkpoint["state"].get("integrations", {}).get("huggingface", {})
    config = hf_state.get("model", {}).get("config", {}).get("content", {})
    state_dict = {k.removeprefix(COMPOSER_MODEL_PREFIX): v for k, v in model_state.items()}
    return _source(state_dict, config, origin, layout_of)


def _normalise_keys(state_dict: dict[str, torch.Tensor], layout: KeyLayout | None) -> dict[str, torch.Tensor]:
    """Modern LayerNorm names, no stale ``position_ids`` buffers, and the family's prefix of its task models
    (``bert.``, ``model.``: ``layout``'s, when given) on the keys of a headless checkpoint."""
    normalised = {}
    for key, tensor in state_dict.items():
        if key.endswith(".position_ids"):
            continue
        for legacy, modern in LEGACY_LAYERNORM_NAMES.items():
            if key.endswith(legacy):
                key = key[: -len(legacy)] + modern
        normalised[key] = tensor
    if layout is not None and not any(key.startswith(layout.prefix) for key in normalised):
        normalised = {f"{layout.prefix}{key}": tensor for key, tensor in normalised.items()}
    return normalised


def _is_under(key: str, prefixes: Iterable[str]) -> bool:
    return any(key == p or key.startswith(p.rstrip(".") + ".") for p in prefixes)


def _is_encoder(model: PreTrainedModel, key: str) -> bool:
    """Part of the shared encoder (``bert.`` without the pooler), as opposed to a task head."""
    base = model.base_model_prefix
    return key.startswith(f"{base}.") and not key.startswith(f"{base}.pooler.")


def _shared_storage_groups(state_dict: dict[str, torch.Tensor]) -> dict[str, set[str]]:
    """For each key, the keys whose tensors share its storage (tied weights)."""
    by_storage = defaultdict(set)
    for key, tensor in state_dict.items():
        by_storage[(tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))].add(key)
    return {key: group for group in by_storage.values() for key in group}


def _summarise(keys: Iterable[str]) -> str:
    """Keys with layer indices collapsed: ``bert.encoder.layer.*.attention.Wqkv.weight (x12)``."""
    counts: dict[str, int] = defaultdict(int)
    for key in keys:
        counts[re.sub(r"\.\d+\.", ".*.", key)] += 1
    return ", ".join(f"{k} (x{n})" if n > 1 else k for k, n in sorted(counts.items()))


def load_weights(model: PreTrainedModel, state_dict: dict[str, torch.Tensor],
                 expected_new_weights: Iterable[str] = (), origin: str = "checkpoint") -> None:
    """Load ``state_dict`` into ``model``; raise ``WeightsMismatchError`` if it does not fit.

    ``expected_new_weights`` are key prefixes (``"classifier"``, ``"bert.pooler"``, ``"mlm_head"``) of parameters
    that may be absent from the source or differ in shape: they keep their fresh initialisation. Source
    heads the network does not have (keys outside the encoder, e.g. an MLM head when fine-tuning, or BERT's
    NSP head) are dropped with a log line. Anything else that does not fit raises.
    """
    expected_new = tuple(expected_new_weights)
    target = model.state_dict()
    tied = _shared_storage_groups(target)
    missing = [k for k in target if not tied[k] & state_dict.keys()]
    unexpected = [k for k in state_dict if k not in target]
    mismatched = [(k, tuple(state_dict[k].shape), tuple(target[k].shape))
                  for k in state_dict if k in target and state_dict[k].shape != target[k].shape]

    bad_missing = [k for k in missing if not _is_under(k, expected_new)]
    bad_unexpected = [k for k in unexpected if _is_encoder(model, k) and not _is_under(k, expected_new)]
    bad_mismatched = [m for m in mismatched if not _is_under(m[0], expected_new)]
    if bad_missing or bad_unexpected or bad_mismatched:
        raise WeightsMismatchError(_mismatch_message(model, origin, missing, unexpected, mismatched, bad_missing,
                                                     bad_mismatched), missing, unexpected, mismatched)

    skip = {m[0] for m in mismatched}
    model.load_state_dict({k: v for k, v in state_dict.items() if k in target and k not in skip}, strict=False)
    model.tie_weights()
    fresh = missing + sorted(skip)
    if fresh:
        log.info("new weights (not in %s): %s", origin, _summarise(fresh))
    if unexpected:
        log.info("dropped weights of %s that %s does not have: %s", origin, type(model).__name__,
                 _summarise(unexpected))


def _head_prefix(model: PreTrainedModel, key: str) -> str | None:
    """The head a key belongs to (``classifier``, ``mlm_head``, ``bert.pooler``, ``head``), or None for encoder
    weights."""
    if _is_encoder(model, key):
        return None
    base = model.base_model_prefix
    return f"{base}.pooler" if key.startswith(f"{base}.pooler.") else key.split(".")[0]


def _mismatch_message(model: PreTrainedModel, origin: str, missing: list[str], unexpected: list[str],
                      mismatched: list[tuple[str, tuple, tuple]], bad_missing: list[str],
                      bad_mismatched: list[tuple[str, tuple, tuple]]) -> str:
    """One line: counts, then the keys (layer indices collapsed), then which heads could be declared new."""
    parts = [f"weights from {origin} do not fit {type(model).__name__}: {len(missing)} missing, "
             f"{len(unexpected)} unexpected, {len(mismatched)} with another shape"]
    if missing:
        parts.append(f"missing: {_summarise(missing)}")
    if unexpected:
        parts.append(f"unexpected: {_summarise(unexpected)}")
    if mismatched:
        parts.append("shape mismatch (checkpoint vs model): "
                     + _summarise(f"{k} {list(src)} vs {list(dst)}" for k, src, dst in mismatched))
    heads = sorted({_head_prefix(model, k) for k in bad_missing + [m[0] for m in bad_mismatched]} - {None})
    if heads:
        parts.append(f"if these heads should start fresh, pass expected_new_weights={tuple(heads)!r}")
    return "; ".join(parts)
