"""MLM dataloaders: a loader config section (omegaconf structured config) -> Composer ``DataSpec``.

The YAML section of a loader maps onto :class:`MLMLoaderConfig`; a run either names one MDS dataset
(``local``/``remote``/``split``) or mixes several ``streams`` with Streaming's ``proportion``/``repeat``/
``choose``. Masking is not done in the loader: the :class:`~mosaicbert.data.masking.MLMMasker` becomes the
``microbatch_transforms`` of the returned ``DataSpec`` - Composer 0.32's device transform, applied in the
main process to each microbatch after it is moved to the device.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import torch
from composer.core import DataSpec
from omegaconf import DictConfig, OmegaConf
from streaming import Stream, StreamingDataLoader
from transformers import PreTrainedTokenizerBase

from mosaicbert.data.masking import MLMMasker
from mosaicbert.data.text_dataset import StreamingTextDataset


@dataclass
class StreamConfig:
    """One MDS dataset in a mixture (fields as ``streaming.Stream`` defines them)."""

    local: Optional[str] = None
    remote: Optional[str] = None
    split: Optional[str] = None
    proportion: Optional[float] = None
    repeat: Optional[float] = None
    choose: Optional[int] = None
    download_retry: Optional[int] = None
    download_timeout: Optional[float] = None
    keep_zip: Optional[bool] = None


@dataclass
class MLMLoaderConfig:
    """A train or eval loader section: where the MDS shards are and how Streaming/DataLoader read them.

    Either ``local``/``remote`` (one dataset) or ``streams`` (a named mixture); ``split`` applies to
    the single dataset and is the default split of every stream.
    """

    local: Optional[str] = None
    remote: Optional[str] = None
    split: Optional[str] = None
    streams: Optional[Dict[str, StreamConfig]] = None
    # packed shards (convert_dataset.py --pack_documents): attend within each document (false: a row is one sequence)
    document_boundaries: bool = True
    shuffle: bool = True
    shuffle_seed: int = 17
    shuffle_algo: str = "py1e"
    shuffle_block_size: Optional[int] = None
    # Streaming's default is the number of physical nodes, which makes the sample order depend on it: a fixed
    # value keeps the order (and a resumed run's position) on any node count that divides it or is a multiple
    num_canonical_nodes: Optional[int] = 8
    epoch_size: Optional[int] = None
    predownload: Optional[int] = None
    cache_limit: Optional[str] = None
    download_retry: int = 2
    download_timeout: float = 60.0
    sampling_method: str = "balanced"
    batching_method: str = "random"
    drop_last: bool = True
    num_workers: int = 0
    persistent_workers: bool = True
    prefetch_factor: Optional[int] = 2
    pin_memory: bool = False
    timeout: float = 0.0


@dataclass
class MLMEvalLoaderConfig(MLMLoaderConfig):
    """An eval loader section: as a train one, but every sample is evaluated exactly once: the last partial batch
    too, and no fixed canonical node count (it pads the sample count to its multiple with repeats, and metrics do not
    depend on the order)."""

    drop_last: bool = False
    num_canonical_nodes: Optional[int] = None


def _as_config(cfg: MLMLoaderConfig | Mapping[str, Any] | DictConfig,
               schema: type[MLMLoaderConfig] = MLMLoaderConfig) -> MLMLoaderConfig:
    """Validate a loader section (unknown keys and wrong types raise) and return it as the dataclass."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), cfg))


def _stream_location(local: str | None, remote: str | None, split: str | None, where: str) -> None:
    if not local and not remote:
        raise ValueError(f"{where}: set local or remote")
    if remote is None and not (Path(local).expanduser() / (split or "") / "index.json").is_file():
        raise FileNotFoundError(f"{where}: no MDS dataset at {Path(local) / (split or '')} (index.json missing); "
                                "convert one with convert_dataset.py")


def build_text_dataset(cfg: MLMLoaderConfig | Mapping[str, Any] | DictConfig, tokenizer: PreTrainedTokenizerBase,
                       max_seq_len: int, device_batch_size: int) -> StreamingTextDataset:
    """The :class:`StreamingTextDataset` a loader section describes (one dataset or a mixture of streams)."""
    cfg = _as_config(cfg)
    if cfg.streams and (cfg.local or cfg.remote):
        raise ValueError("loader: give either streams or local/remote, not both")
    if cfg.streams:
        streams, names = [], list(cfg.streams)
        for name, stream in cfg.streams.items():
            split = stream.split if stream.split is not None else cfg.split
            _stream_location(stream.local, stream.remote, split, f"streams.{name}")
            options = {key: value for key, value in asdict(stream).items() if value is not None}
            streams.append(Stream(**{**options, "split": split}))
        location = {"streams": streams}
    else:
        names = None
        _stream_location(cfg.local, cfg.remote, cfg.split, "loader")
        location = {"local": cfg.local, "remote": cfg.remote, "split": cfg.split}
    return StreamingTextDataset(
        tokenizer, max_seq_len, stream_names=names, document_boundaries=cfg.document_boundaries, **location,
        shuffle=cfg.shuffle, shuffle_seed=cfg.shuffle_seed, shuffle_algo=cfg.shuffle_algo,
        shuffle_block_size=cfg.shuffle_block_size, num_canonical_nodes=cfg.num_canonical_nodes,
        epoch_size=cfg.epoch_size, predownload=cfg.predownload, cache_limit=cfg.cache_limit,
        download_retry=cfg.download_retry, download_timeout=cfg.download_timeout,
        sampling_method=cfg.sampling_method, batching_method=cfg.batching_method, batch_size=device_batch_size)


def count_real_tokens(batch: Mapping[str, torch.Tensor]) -> int:
    """Tokens in a batch that are not padding."""
    return int(batch["attention_mask"].sum())


def build_mlm_dataloader(cfg: MLMLoaderConfig | Mapping[str, Any] | DictConfig, tokenizer: PreTrainedTokenizerBase,
                         max_seq_len: int, device_batch_size: int, masker: MLMMasker,
                         schema: type[MLMLoaderConfig] = MLMLoaderConfig) -> DataSpec:
    """A Composer ``DataSpec`` over a ``StreamingDataLoader``; ``masker`` masks each (micro)batch on its device.

    ``schema`` gives the defaults of a mapping ``cfg``: ``MLMEvalLoaderConfig`` for evaluation.
    """
    cfg = _as_config(cfg, schema)
    dataset = build_text_dataset(cfg, tokenizer, max_seq_len, device_batch_size)
    workers = cfg.num_workers
    loader = StreamingDataLoader(
        dataset, batch_size=device_batch_size, num_workers=workers, drop_last=cfg.drop_last,
        persistent_workers=cfg.persistent_workers and workers > 0, pin_memory=cfg.pin_memory,
        prefetch_factor=cfg.prefetch_factor if workers > 0 else None, timeout=cfg.timeout)
    return DataSpec(loader, microbatch_transforms=masker, get_num_tokens_in_batch=count_real_tokens)
