"""The pretraining config (``main.py``): every YAML key, its type and default, and cross-field checks."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch
from omegaconf import MISSING

from mosaicbert.config.components import ALGORITHMS, CALLBACKS, LOGGERS, OPTIMIZERS, SCHEDULERS
from mosaicbert.config.loading import ConfigError, registry_field, time_field
from mosaicbert.config.model_section import ModelSection
from mosaicbert.data.loaders import MLMEvalLoaderConfig, MLMLoaderConfig
from mosaicbert.data.sources import DataContentError
from mosaicbert.did_you_mean import did_you_mean
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.precision import default_device, resolve_precision

from .fsdp import FSDPConfig, build_fsdp_config
from .phases import check_phase

# model.mlm_bias_init: how a new MLM head's decoder bias starts (zeros as in BERT, or the training split's log
# word frequencies, counted on its first MLM_BIAS_SAMPLES samples)
MLM_BIAS_INITS = ("zeros", "unigram")
MLM_BIAS_SAMPLES = 100_000

# torch.compile's keyword arguments (Composer passes compile_config to it as they are)
COMPILE_OPTIONS = ("fullgraph", "dynamic", "backend", "mode", "options", "disable")


@dataclass
class MaskingSection:
    """MLM masking rates; the training rate may be scheduled by ``algorithms.masking_rate_schedule``."""

    train_rate: float = 0.30
    eval_rate: float = 0.15
    # mask whole words (all their pieces) at the rates, in training and evaluation (PubMedBERT, Bioformer): the
    # rates and their schedule then count words; needs a WordPiece or byte-level BPE tokenizer
    whole_word: bool = False


@dataclass
class PretrainConfig:
    """``main.py``'s config. Registry sections name their entries' keyword arguments directly."""

    model: ModelSection = field(default_factory=ModelSection)
    train_loader: MLMLoaderConfig = MISSING
    eval_loader: Optional[MLMEvalLoaderConfig] = None  # drop_last defaults to false: every sample is evaluated
    masking: MaskingSection = field(default_factory=MaskingSection)
    max_seq_len: int = 128

    # Batching: the global batch is split evenly over the ranks; microbatches bound per-step memory
    global_train_batch_size: int = MISSING
    device_train_microbatch_size: Any = None  # an int, "auto" (GPU only), or None: the whole device batch
    device_eval_batch_size: int = 64

    # Duration and evaluation (Composer time strings)
    max_duration: str = time_field(MISSING)
    eval_interval: str = time_field("2000ba")
    eval_subset_num_batches: int = -1

    # Optimization (registries: mosaicbert.config.components)
    optimizer: Dict[str, Any] = registry_field(OPTIMIZERS, many=False,
                                               default_factory=lambda: {"name": "decoupled_adamw"})
    scheduler: Dict[str, Any] = registry_field(SCHEDULERS, many=False,
                                               default_factory=lambda: {"name": "linear_decay_with_warmup",
                                                                        "t_warmup": "0.06dur", "alpha_f": 0.02})
    algorithms: Dict[str, Any] = registry_field(ALGORITHMS, many=True)
    # the learning rate of the fresh heads (model.expected_new_weights) as a multiple of optimizer.lr: a new
    # head beside imported weights can move faster than the encoder it reads
    new_weights_lr_factor: float = 1.0

    # System
    seed: int = 17
    precision: str = "amp_bf16"  # fp32 | amp_bf16 (CPU: model-side autocast) | amp_fp16 (GPU)
    device: Optional[str] = None  # cpu | gpu; None: gpu when available
    # Composer's FSDP options (training/fsdp.py: FSDP1 on GPU unless FSDP_VERSION=2, FSDP2 on CPU); None: DDP
    fsdp_config: Optional[Dict[str, Any]] = None
    dist_timeout: float = 600.0
    # torch.compile options (Composer's compile_config: mode, backend, dynamic, fullgraph, options); {}: the
    # defaults; None: eager. Unpadding has data-dependent shapes: expect graph breaks (README, "torch.compile")
    compile_config: Optional[Dict[str, Any]] = None

    # Observability (registries: mosaicbert.config.components)
    callbacks: Dict[str, Any] = registry_field(CALLBACKS, many=True)
    loggers: Dict[str, Any] = registry_field(LOGGERS, many=True)
    # MLM accuracy and cross-entropy of the training batches: another pass over every microbatch's logits (~20k
    # masked positions x 30,522 at the base recipe's batch), so opt-in; evaluation always reports them
    train_metrics: bool = False
    # Console: Composer's progress bar (None: when the console is a terminal) and one line per evaluation;
    # log_to_console adds Composer's metric blocks every console_log_interval (cluster logs)
    progress_bar: Optional[bool] = None
    log_to_console: bool = False
    console_log_interval: str = time_field("1ba")
    # every log line, with times; None: train-rank<R>.log next to save_folder (no file without save_folder)
    log_file: Optional[str] = None
    eval_first: bool = False  # evaluate once before training (the starting point of continued pretraining)

    # Checkpoints and resumption
    run_name: Optional[str] = None
    save_folder: Optional[str] = None
    save_interval: str = time_field("1000ba")
    save_num_checkpoints_to_keep: int = -1
    save_overwrite: bool = False
    autoresume: bool = False
    # A new phase of an earlier run (training/phases.py): its Composer checkpoint; weights only or optimizer
    # state too; reset_time: a fresh clock, schedule and data position; checkpoint paths to leave out
    load_path: Optional[str] = None
    load_weights_only: bool = False
    reset_time: bool = False
    load_ignore_keys: List[str] = field(default_factory=list)

    # Optional export of the final model as a Hugging Face directory
    export_hf_dir: Optional[str] = None

    @property
    def device_type(self) -> str:
        """``cpu`` or ``gpu``."""
        return self.device or default_device()

    @property
    def show_progress_bar(self) -> bool:
        """``progress_bar``, or by default: on an interactive console that is not printing metric blocks."""
        if self.progress_bar is not None:
            return self.progress_bar
        return not self.log_to_console and sys.stderr.isatty()

    @property
    def resolved_log_file(self) -> Optional[str]:
        """Where this rank's full log goes (``log_file`` or next to ``save_folder``), or None."""
        from composer.utils import dist, format_name_with_dist

        if self.log_file:
            return format_name_with_dist(self.log_file, self.run_name or "")
        if not self.save_folder:
            return None
        folder = format_name_with_dist(self.save_folder, self.run_name or "").rstrip("/")
        if "://" in folder:
            return None
        return os.path.join(os.path.dirname(folder) or ".", f"train-rank{dist.get_global_rank()}.log")

    @property
    def world_size(self) -> int:
        """Number of ranks (set by the Composer launcher; 1 under plain ``python``)."""
        return int(os.environ.get("WORLD_SIZE", "1"))

    @property
    def num_nodes(self) -> int:
        """Number of nodes (the Composer launcher sets WORLD_SIZE and LOCAL_WORLD_SIZE on every rank)."""
        return max(1, self.world_size // int(os.environ.get("LOCAL_WORLD_SIZE", self.world_size)))

    @property
    def device_train_batch_size(self) -> int:
        """This rank's share of the global batch."""
        return self.global_train_batch_size // self.world_size

    def validate(self) -> None:
        """Checks across fields: model, precision on this device, rates, batch split, resumption, data paths."""
        self._validate_model()
        if self.device_type not in ("cpu", "gpu"):
            raise ConfigError(f"config key 'device': {self.device!r} is not one of: cpu, gpu")
        resolve_precision(self.precision, self.device_type)
        for key in ("train_rate", "eval_rate"):
            rate = getattr(self.masking, key)
            if not 0.0 < rate < 1.0:
                raise ConfigError(f"config key 'masking.{key}': must be between 0 and 1, got {rate}")
        if self.global_train_batch_size <= 0 or self.global_train_batch_size % self.world_size:
            raise ConfigError(f"config key 'global_train_batch_size': {self.global_train_batch_size} cannot be split "
                              f"evenly over {self.world_size} rank(s)")
        self._validate_microbatch()
        for name in self.compile_config or {}:
            if name not in COMPILE_OPTIONS:
                raise ConfigError(f"config key 'compile_config.{name}': not an option of torch.compile"
                                  f"{did_you_mean(name, COMPILE_OPTIONS)}; choose from: {', '.join(COMPILE_OPTIONS)}")
        self._validate_fullgraph()
        if self.fsdp_config is not None:
            fsdp = build_fsdp_config(self.fsdp_config, self.device_type)
            if self.device_train_microbatch_size == "auto" and not isinstance(fsdp, FSDPConfig):
                raise ConfigError("config key 'device_train_microbatch_size': 'auto' works with DDP or FSDP1 only, "
                                  "not FSDP2 (FSDP_VERSION=2); give an int")
        if self.autoresume and not (self.save_folder and self.run_name):
            raise ConfigError("config key 'autoresume': needs both 'save_folder' and 'run_name'")
        if self.autoresume and self.num_nodes > 1 and "://" not in self.save_folder:
            # Composer's autoresume on several nodes coordinates through save_folder: a node-local path breaks it
            raise ConfigError(f"config key 'save_folder': autoresume on {self.num_nodes} nodes needs an object store "
                              f"URI every node reads (e.g. s3://bucket/runs/{{run_name}}/checkpoints), "
                              f"not the local path {self.save_folder!r}")
        check_phase(self)
        for name in ("train_loader", "eval_loader"):
            loader = getattr(self, name)
            if loader is not None:
                _check_data_paths(loader, name)

    def _validate_fullgraph(self) -> None:
        graph_breaks = MODEL_REGISTRY[self.model.name].graph_breaks
        if (self.compile_config or {}).get("fullgraph") and graph_breaks:
            raise ConfigError(f"config key 'compile_config.fullgraph': true cannot work for {self.model.name}: "
                              f"{graph_breaks}, so torch.compile must break the graph there; leave fullgraph out "
                              f"(the layers between the breaks still compile)")

    def _validate_model(self) -> None:
        self.model.check()
        self.model.check_length(self.max_seq_len, "max_seq_len")
        name = self.model.name
        bias_init = self.model.mlm_bias_init
        if bias_init not in MLM_BIAS_INITS:
            raise ConfigError(f"config key 'model.mlm_bias_init': unknown value {bias_init!r}"
                              f"{did_you_mean(bias_init, MLM_BIAS_INITS)}; choose from: {', '.join(MLM_BIAS_INITS)}")
        if bias_init != "zeros":
            new_head = not self.model.init_from or any(
                head in self.model.expected_new_weights for head in mlm_head_prefixes(name))
            if not new_head:
                raise ConfigError("config key 'model.mlm_bias_init': sets the bias of a new MLM head only; with "
                                  "'model.init_from' list the head in 'model.expected_new_weights'")
            if self.train_loader.streams:
                raise ConfigError("config key 'model.mlm_bias_init': counts words of one dataset "
                                  "('train_loader.local'/'remote'), not of 'train_loader.streams'")
        if self.new_weights_lr_factor != 1.0:
            if self.new_weights_lr_factor <= 0:
                raise ConfigError(f"config key 'new_weights_lr_factor': must be positive, got "
                                  f"{self.new_weights_lr_factor}")
            if not self.model.expected_new_weights:
                raise ConfigError("config key 'new_weights_lr_factor': applies to 'model.expected_new_weights', "
                                  "which is empty")
            if "lr" not in self.optimizer:
                raise ConfigError("config key 'new_weights_lr_factor': multiplies 'optimizer.lr', which is not set")
        if self.model.expected_new_weights:
            if not self.model.init_from:
                raise ConfigError("config key 'model.expected_new_weights': applies only with 'model.init_from'")
            heads = mlm_head_prefixes(name)
            for head in self.model.expected_new_weights:
                if head not in heads:
                    raise ConfigError(f"config key 'model.expected_new_weights': {head!r} is not a head of the "
                                      f"{name} MLM network{did_you_mean(head, heads)}; choose from: {', '.join(heads)}")

    def _validate_microbatch(self) -> None:
        value = self.device_train_microbatch_size
        if value is None:
            return
        if value == "auto":
            if self.device_type != "gpu":
                raise ConfigError("config key 'device_train_microbatch_size': 'auto' needs a GPU; give an int")
            return
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"config key 'device_train_microbatch_size': expected a positive int or 'auto', "
                              f"got {value!r}")
        if value > self.device_train_batch_size:
            raise ConfigError(f"config key 'device_train_microbatch_size': {value} exceeds the per-rank batch "
                              f"{self.device_train_batch_size}")


def _check_data_paths(loader: MLMLoaderConfig, key: str) -> None:
    """Every local-only dataset (no ``remote``) must be an MDS dataset on disk, split directory included."""
    places = [(key, loader.local, loader.remote, loader.split)]
    places += [(f"{key}.streams.{name}", s.local, s.remote, s.split or loader.split)
               for name, s in (loader.streams or {}).items()]
    if not loader.streams and not (loader.local or loader.remote):
        raise ConfigError(f"config key '{key}.local': give the dataset location (local, remote, or streams)")
    for where, local, remote, split in places[1:] if loader.streams else places:
        if remote:
            continue
        if not local:
            raise ConfigError(f"config key '{where}.local': a value is required when no 'remote' is given")
        path = os.path.join(os.path.expanduser(local), split or "")
        if not os.path.isdir(path):
            raise ConfigError(f"config key '{where}.local': data path '{path}' does not exist")
        if not os.path.isfile(os.path.join(path, "index.json")):
            raise ConfigError(f"config key '{where}.local': '{path}' is not an MDS dataset (no index.json); "
                              "convert one with convert_dataset.py")
        _check_mds_index(os.path.join(path, "index.json"), where)


def _check_mds_index(index: str, where: str) -> None:
    """An index.json that does not parse (a copy cut short, a file overwritten) fails here in one line, not deep
    inside Streaming's reader."""
    try:
        with open(index, encoding="utf-8") as f:
            shards = json.load(f)["shards"]
        if not isinstance(shards, list):
            raise TypeError("'shards' is not a list")
    except (ValueError, KeyError, TypeError) as err:
        reason = f"invalid JSON ({err.msg} at line {err.lineno})" if isinstance(err, json.JSONDecodeError) else (
            f"no shard list ({err})")
        raise DataContentError(f"config key '{where}.local': '{index}' is not a readable MDS index: {reason}; "
                               "convert the dataset again with convert_dataset.py") from None


def mlm_head_prefixes(name: str) -> list[str]:
    """Names of the parts outside the encoder of model ``name``'s MLM network (``mlm_head`` for MosaicBERT)."""
    family = MODEL_REGISTRY[name]
    network_class = family.task_classes["mlm"]
    with torch.device("meta"):  # structure only: no memory, no initialisation cost
        network = network_class(family.config_class(num_hidden_layers=1))
    return [child for child, _ in network.named_children() if child != network_class.base_model_prefix]
