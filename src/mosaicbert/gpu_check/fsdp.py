"""FSDP through ``main.py`` on every visible device (world size 1 included; Composer's FSDP1 on GPUs, FSDP2 on
gloo CPU ranks): each model family plans one FSDP unit per encoder layer; a run saves its checkpoints and exports
to Hugging Face; resumed from its middle checkpoint it ends with the same weights; the export loads in stock
transformers (``AutoModelForMaskedLM``, remote code) with exactly the final checkpoint's weights."""

from __future__ import annotations

from pathlib import Path

import torch

from mosaicbert.models.build import build_composer_model
from mosaicbert.models.registry import MODEL_REGISTRY

from . import runs
from .pretraining import final_checkpoint, main_args
from .profiles import TINY_SHAPE, Profile
from .report import CheckFailed, Row, row

CHECK = "fsdp"


def unit_rows() -> list[Row]:
    """Each family's FSDP wrap plan selects exactly its encoder layers (what Composer shards as units)."""
    rows = []
    for name, family in MODEL_REGISTRY.items():
        network = build_composer_model(name, "mlm", model_config=TINY_SHAPE).model
        units = [m for m in network.modules() if network.fsdp_wrap_fn(m)]
        layers = [m for m in network.modules() if isinstance(m, family.layer_class)]
        ok = len(units) == TINY_SHAPE["num_hidden_layers"] and units == layers
        rows.append(row(CHECK, f"{name} units", ok, f"{len(units)} FSDP units for {len(layers)} encoder layers "
                        f"({family.layer_class.__name__})", units=len(units), layers=len(layers)))
    return rows


def rewind(checkpoints: Path, batch: int) -> None:
    """Drop the checkpoints after ``batch`` and point every rank's ``latest`` link at its checkpoint of ``batch``:
    the folder a run killed right after that checkpoint leaves."""
    for path in checkpoints.glob("*-ba*-rank*.pt"):
        if (runs.checkpoint_batch(path) or 0) > batch:
            path.unlink()
    for link in checkpoints.glob("latest-rank*.pt"):
        rank = link.name.removeprefix("latest-")
        kept = next(checkpoints.glob(f"*-ba{batch}-{rank}"), None)
        if kept is None:
            raise CheckFailed(f"no checkpoint of batch {batch} for {rank} in {checkpoints}")
        link.unlink()
        link.symlink_to(kept.name)


def export_row(export_dir: Path, checkpoint: Path) -> Row:
    from transformers import AutoModelForMaskedLM

    exported = AutoModelForMaskedLM.from_pretrained(export_dir, trust_remote_code=True).state_dict()
    final = {name.removeprefix("model."): t for name, t in runs.model_weights(checkpoint).items()}
    same = exported.keys() == final.keys() and all(torch.equal(t, final[n]) for n, t in exported.items())
    return row(CHECK, "export_hf_dir", same, f"AutoModelForMaskedLM loads {len(exported)} tensors, "
               f"{'equal to' if same else 'NOT equal to'} the final checkpoint's", tensors=len(exported))


def run(profile: Profile, work_dir: Path) -> list[Row]:
    rows = unit_rows()
    world = torch.cuda.device_count() if profile.device == "cuda" else profile.cpu_world_size
    mds = runs.news_mds(work_dir, profile)
    steps, middle = profile.fsdp_steps, profile.fsdp_steps // 2
    run_dir = work_dir / CHECK
    args = main_args(profile, mds, run_dir, f"max_duration={steps}ba", f"save_interval={middle}ba",
                     "fsdp_config={activation_checkpointing: true}", f"export_hf_dir={run_dir}/hf")
    args[0] = profile.fsdp_recipe
    command = runs.entry_point("main.py", *args, ranks=world if world > 1 else None)
    runs.run(command, run_dir / "run.log", profile)
    first = runs.model_weights(final_checkpoint(run_dir, steps))
    rewind(run_dir / "checkpoints", middle)
    resumed_at = runs.rerun(command, run_dir / "resume.log", profile, run_dir / "tb", middle)
    checkpoint = final_checkpoint(run_dir, steps)
    difference = runs.weight_difference(runs.model_weights(checkpoint), first)
    tolerance = profile.resume_tolerance
    ok = difference["differing"] == 0 if tolerance == 0 else difference["relative_l2"] <= tolerance
    if difference["tensors"] == 0:
        raise CheckFailed(f"the checkpoint {checkpoint} holds no model weights")
    rows.append(row(CHECK, f"{world} rank{'s' if world > 1 else ''}: save + resume", ok,
                    f"resumed at batch {resumed_at} of {steps}: "
                    + ("bit-identical" if difference["differing"] == 0 else
                       f"{difference['differing']} tensors differ, L2 {difference['relative_l2']:.1e} relative "
                       f"(tolerance {tolerance or 'bit-identical'})"), world_size=world, **difference))
    rows.append(export_row(run_dir / "hf", checkpoint))
    return rows
