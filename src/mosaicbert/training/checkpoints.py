"""Make a local checkpoint folder safe to autoresume from after the run was killed at any moment.

Composer writes a checkpoint file in place, then re-points ``latest-rank0.pt`` at it (remove + create).
A SIGKILL can therefore leave (a) a partial newest checkpoint file, which is never loaded (the symlink
still names the previous one) but makes Composer refuse to start ("may conflict with a future
checkpoint"), or (b) for an instant, no symlink at all, which would silently restart from scratch.
:func:`repair_checkpoint_folder` fixes both before the Trainer starts; it runs on global rank 0.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

# Composer's default ``save_filename`` for monolithic checkpoints, as written by global rank 0
CHECKPOINT_PATTERN = re.compile(r"^ep(\d+)-ba(\d+)-rank0\.pt$")
LATEST = "latest-rank0.pt"


def repair_checkpoint_folder(folder: str | os.PathLike) -> Path | None:
    """Drop checkpoint files newer than ``latest-rank0.pt``; re-create the link if a kill removed it.

    Returns the checkpoint a resumed run will load (None if there is none).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    checkpoints = sorted((int(m.group(2)), path) for path in folder.iterdir()
                         if (m := CHECKPOINT_PATTERN.match(path.name)))
    latest = folder / LATEST
    if latest.is_symlink() and latest.exists():
        target = latest.resolve()
    else:
        complete = [path for _, path in checkpoints if _is_complete(path)]
        if latest.is_symlink():
            latest.unlink()  # dangling
        if not complete:
            target = None
        else:
            target = complete[-1]
            os.symlink(target.name, latest)
            log.warning("re-created %s -> %s (the run was stopped while updating it)", latest, target.name)
    newest_kept = next((batch for batch, path in checkpoints if target is not None and path.resolve() == target), -1)
    for batch, path in checkpoints:
        if batch > newest_kept:
            path.unlink()
            log.warning("removed %s: written after the last complete checkpoint (interrupted save)", path)
    return target


def _is_complete(path: Path) -> bool:
    """A ``torch.save`` file is a zip archive whose central directory is written last."""
    try:
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
