"""Attention backends against each other: one MosaicBERT encoder forward and backward per backend on real padded
news text, bf16 autocast (fp32 in the CPU dry run), against the fp32 reference kernel (the ground truth). Needs only torch + transformers.

bf16 itself moves the result: the reference kernel run under bf16 (its attention stays fp32, the projections go
bf16) measures that floor; a backend passes when its difference to the fp32 truth stays within
``4 x floor + 2e-3`` (relative to the largest value), for the encoder output and for the weight gradients.
"""

from __future__ import annotations

import contextlib

import torch

from mosaicbert.architecture import ATTENTION_BACKENDS, MosaicBertConfig, MosaicBertModel
from mosaicbert.architecture import attention as attention_module
from mosaicbert.data.news import load_news_articles
from mosaicbert.tokenizer import load_tokenizer

from .profiles import Profile, autocast_dtype
from .report import Row, row

CHECK = "attention"


def padded_news(tokenizer, sequences: int, length: int) -> dict[str, torch.Tensor]:
    """``sequences`` news articles, truncated to lengths spread from ``length / 8`` to ``length``, padded to it."""
    ids = tokenizer(load_news_articles()[:sequences], truncation=True, max_length=length)["input_ids"]
    batch = {key: torch.zeros(sequences, length, dtype=torch.long) for key in ("input_ids", "attention_mask")}
    for i, row_ids in enumerate(ids):
        keep = min(len(row_ids), max(2, length // 8 + i * (length - length // 8) // max(1, sequences - 1)))
        row_ids = row_ids[:keep - 1] + row_ids[-1:]  # still ends with [SEP]
        batch["input_ids"][i, :keep] = torch.tensor(row_ids)
        batch["attention_mask"][i, :keep] = 1
    return batch


def forward_backward(model, batch, probe, backend: str, dtype: torch.dtype | None):
    """The encoder output and every weight gradient with ``backend``, under autocast ``dtype`` (None: fp32)."""
    model.encoder.attention_backend = backend
    device = batch["input_ids"].device
    autocast = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
    with autocast:
        out = model(**batch).last_hidden_state
    grads = torch.autograd.grad((out.float() * probe).sum(), list(model.parameters()))
    return out.float().detach(), torch.cat([g.float().flatten() for g in grads])


def relative_difference(value: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
    """(max |value - truth|, that over max |truth|)."""
    difference = float((value - truth).abs().max())
    return difference, difference / max(float(truth.abs().max()), 1e-30)


def run(profile: Profile, work_dir) -> list[Row]:
    device = torch.device(profile.device)
    torch.manual_seed(0)
    config = MosaicBertConfig(**profile.attention_shape, attention_probs_dropout_prob=0.0, hidden_dropout_prob=0.0)
    model = MosaicBertModel(config, add_pooling_layer=False).to(device)
    batch = {k: v.to(device) for k, v in padded_news(load_tokenizer("bert-base-uncased"),
                                                      *profile.attention_batch).items()}
    padding = 1 - float(batch["attention_mask"].float().mean())
    probe = torch.randn(*batch["input_ids"].shape, config.hidden_size, generator=torch.Generator().manual_seed(1))
    probe = probe.to(device) * batch["attention_mask"][..., None]
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # the ground truth in true fp32 (Composer may have enabled TF32)
    try:
        truth = forward_backward(model, batch, probe, "reference", None)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    dtype = autocast_dtype(profile)
    floor = [relative_difference(v, t)[1] for v, t in zip(forward_backward(model, batch, probe, "reference", dtype),
                                                          truth)]
    shape = f"{config.num_hidden_layers}x{config.hidden_size}, {config.num_attention_heads} heads, " \
            f"batch {tuple(profile.attention_batch)}, {padding:.0%} padding"
    rows = [row(CHECK, f"reference {profile.dtype or 'float32'} (floor)", True, f"vs fp32 reference: out {floor[0]:.1e}, grads "
                f"{floor[1]:.1e} (relative); {shape}", out_relative=floor[0], grad_relative=floor[1])]
    for backend in ATTENTION_BACKENDS:
        if backend == "reference":
            continue
        if backend == "flash_attn" and attention_module.flash_attn_varlen_qkvpacked_func is None:
            reason = attention_module.FLASH_ATTN_IMPORT_ERROR or "needs CUDA and the flash-attn package"
            rows.append(Row(CHECK, backend, "skipped", f"skipped: flash_attn not importable ({reason})"))
            continue
        measured = [relative_difference(v, t) for v, t in zip(forward_backward(model, batch, probe, backend, dtype),
                                                              truth)]
        limits = [4 * f + 2e-3 for f in floor]
        ok = all(rel <= limit for (_, rel), limit in zip(measured, limits))
        (out_abs, out_rel), (grad_abs, grad_rel) = measured
        rows.append(row(CHECK, f"{backend} {profile.dtype or 'float32'}", ok,
                        f"vs fp32 reference: out max {out_abs:.1e} ({out_rel:.1e} rel, limit {limits[0]:.1e}), "
                        f"grads max {grad_abs:.1e} ({grad_rel:.1e} rel, limit {limits[1]:.1e})",
                        out_max=out_abs, out_relative=out_rel, grad_max=grad_abs, grad_relative=grad_rel,
                        limits=limits))
    return rows
