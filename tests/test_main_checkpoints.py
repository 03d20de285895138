"""A checkpoint folder left by a run killed at any moment is repaired so that autoresume continues correctly."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from mosaicbert.training.checkpoints import repair_checkpoint_folder


def save(folder: Path, batch: int, *, partial: bool = False) -> Path:
    """A ``torch.save`` checkpoint as Composer names it; ``partial`` truncates it like a kill mid-write."""
    path = folder / f"ep0-ba{batch}-rank0.pt"
    torch.save({"state": {"model": {"w": torch.full((256, 256), float(batch))}}}, path)
    if partial:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return path


def link_latest(folder: Path, target: Path) -> None:
    os.symlink(target.name, folder / "latest-rank0.pt")


def test_partial_newer_checkpoint_is_removed_and_latest_kept(tmp_path):
    good = save(tmp_path, 5)
    link_latest(tmp_path, good)
    partial = save(tmp_path, 10, partial=True)
    assert repair_checkpoint_folder(tmp_path) == good.resolve()
    assert not partial.exists() and (tmp_path / "latest-rank0.pt").resolve() == good.resolve()


def test_complete_checkpoint_whose_link_update_was_interrupted_is_dropped(tmp_path):
    good = save(tmp_path, 5)
    link_latest(tmp_path, good)
    newer = save(tmp_path, 10)  # written, but killed before latest was re-pointed: not trusted
    assert repair_checkpoint_folder(tmp_path) == good.resolve()
    assert not newer.exists()


def test_missing_link_is_recreated_to_the_newest_complete_checkpoint(tmp_path):
    save(tmp_path, 5)
    newest = save(tmp_path, 10)  # killed between removing and re-creating the link
    assert repair_checkpoint_folder(tmp_path) == newest.resolve()
    assert (tmp_path / "latest-rank0.pt").resolve() == newest.resolve()
    loaded = torch.load(tmp_path / "latest-rank0.pt", weights_only=True)
    assert loaded["state"]["model"]["w"][0, 0] == 10


def test_killed_during_the_first_save_leaves_nothing_to_resume(tmp_path):
    partial = save(tmp_path, 5, partial=True)
    assert repair_checkpoint_folder(tmp_path) is None
    assert not partial.exists() and not (tmp_path / "latest-rank0.pt").exists()


def test_missing_link_with_partial_newest_points_to_the_previous_one(tmp_path):
    good = save(tmp_path, 5)
    save(tmp_path, 10, partial=True)
    assert repair_checkpoint_folder(tmp_path) == good.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep0-ba5-rank0.pt", "latest-rank0.pt"]


def test_fresh_run_has_nothing_to_repair(tmp_path):
    assert repair_checkpoint_folder(tmp_path / "not-yet-created") is None
