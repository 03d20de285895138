"""MLM dataloaders: a loader config section (omegaconf structured config) -> Composer ``DataSpec``.

The YAML section of a loader maps onto :class:`MLMLoaderConfig`; a run either names one MDS dataset
(``local``/``remote``/``split``) or mixes several ``streams`` with Streaming's ``proportion``/``repeat``/
``choose``. Masking is not done here: the :class:`~mosaicbert.data.masking.MLMMasker` becomes the
``device_transforms`` of the returned ``DataSpec`` (applied in the main process, on the device).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional


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
    shuffle: bool = True
    shuffle_seed: int = 17
    shuffle_algo: str = "py1e"
    shuffle_block_size: Optional[int] = None
    num_canonical_nodes: Optional[int] = None
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
