"""A study's stages, each computed once and kept as a JSON record: a study stopped anywhere resumes at the first
stage without one. Under the Composer launcher every rank computes a stage and goes on with rank 0's result, which
rank 0 keeps (``ranks.rank_zero_value``): no rank takes another branch or step count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from composer.utils import dist

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.ranks import rank_zero_value


def save_record(path: Path, data: Any) -> None:
    if dist.get_global_rank() != 0:  # under the Composer launcher every rank computes, rank 0 keeps the record
        return
    write_text_atomically(path, json.dumps(data, indent=2))


def stage(path: Path, compute: Callable[[], Any]) -> Any:
    """The stage's saved result, or compute it (on every rank) and save rank 0's, which every rank goes on with.
    Rank 0 keeps the record, so rank 0 reads it and says for all ranks whether the stage is done."""
    done = dist.get_global_rank() == 0 and path.is_file()
    saved = json.loads(path.read_text(encoding="utf-8")) if done else None
    done, saved = rank_zero_value((done, saved))
    if done:
        return saved
    result = rank_zero_value(compute())
    save_record(path, result)
    return result
