"""Self-attention on unpadded tokens, behind one backend interface.

Every backend is a function ``(qkv, context, dropout_p, training) -> out`` with ``qkv`` of shape
``(total, 3, heads, head_dim)`` holding only real tokens, ``context`` the per-forward ``AttentionContext``
(int32 ``cu_seqlens`` sequence offsets, ``max_seqlen``, fp32 ALiBi ``alibi_slopes`` ``(heads,)`` or ``None``,
an optional cache ``alibi_bias(n, dtype)`` of ``(heads, >= n, >= n)`` tables) and ``out`` of shape
``(total, heads, head_dim)``. Dropout on the attention probabilities is applied only when ``training``.
No backend ever sees a padding token:

- ``flash_attn``: ``flash_attn_varlen_qkvpacked_func`` (flash-attn 2, CUDA, ALiBi via ``alibi_slopes``).
- ``sdpa``: ``torch.nn.functional.scaled_dot_product_attention`` with the ALiBi bias as additive mask. PyTorch
  2.7 has no variable-length CPU kernel taking an additive bias (jagged nested tensors reject masks), so the
  tokens are reordered so that sequences of equal length are adjacent, and each length group is one dense
  SDPA call on ``(n_seqs, heads, length, head_dim)``: exact, nothing computed on padding, and packed or truncated
  text (mostly one length) needs a handful of calls. The grouping is computed once per forward pass (one host
  sync) and shared by all layers; the bias is passed 4-D, which keeps SDPA on its fused CPU kernel (a 3-D
  bias falls back to the unfused math path). Under bf16 on CPU, groups shorter than ``CPU_BF16_MIN_LENGTH`` run
  in fp32: PyTorch 2.7's fused CPU backward in bf16 has a large per-(sequence, head) cost (fwd+bwd of 2048
  tokens, bert-base heads: bf16 118 ms vs fp32 53 ms at length 128; bf16 wins from 192 on, 127 vs 278 ms at 512).
  Why length groups (measured before the kernel-path changes above, attention fwd+bwd, bert-base heads, 32
  news sequences of 22 distinct lengths, 35% padding, 1 CPU thread): 166 ms fp32 / 194 ms bf16, against
  432 / 371 ms for one SDPA call per sequence and 354 / 494 ms for one padded call with a key-padding mask.
- ``reference``: plain PyTorch math in fp32, one sequence at a time; the ground truth for tests.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .alibi import alibi_bias as alibi_bias_matrix
from .dropout import HashDropout
from .layer_norm import build_layer_norm

log = logging.getLogger(__name__)



def load_flash_attn() -> tuple[Optional[Callable[..., torch.Tensor]], Optional[BaseException]]:
    """flash-attn 2's varlen kernel and ``None``, or ``None`` and the exception its import raised."""
    try:
        from flash_attn import flash_attn_varlen_qkvpacked_func as kernel
    except Exception as err:  # noqa: BLE001 - missing package, ABI mismatch, CUDA libraries: all mean unavailable
        return None, err
    return kernel, None


# flash-attn (and triton) import without a GPU but their kernels cannot run: only tried where CUDA is
flash_attn_varlen_qkvpacked_func, FLASH_ATTN_IMPORT_ERROR = load_flash_attn() if torch.cuda.is_available() else (
    None, None)

FLASH_ATTN_MIN_CAPABILITY = (8, 0)
# (qkv, context, dropout_p, training) -> out: see the module docstring
AttentionBackend = Callable[..., torch.Tensor]
CPU_BF16_MIN_LENGTH = 192  # shorter sequences attend in fp32 on CPU (see the module docstring)


@functools.lru_cache(maxsize=None)
def _log_once(level: int, message: str) -> None:
    log.log(level, message)


@dataclass(frozen=True)
class LengthGroups:
    """Sequences grouped by length: token order that makes each group contiguous, group lengths and sizes."""

    token_order: Optional[torch.Tensor]  # None when all sequences have one length (tokens already grouped)
    lengths: list[int]
    counts: list[int]


@dataclass(frozen=True)
class AttentionContext:
    """Where each sequence's tokens are and the ALiBi bias: built once per forward pass, read by every layer."""

    cu_seqlens: torch.Tensor
    max_seqlen: int
    alibi_slopes: Optional[torch.Tensor] = None
    # (n, dtype) -> cached (heads, >= n, >= n) ALiBi table (alibi.AlibiBias.bias); None: computed from the slopes
    alibi_bias: Optional[Callable[[int, torch.dtype], torch.Tensor]] = None

    def sequence_bounds(self) -> list[tuple[int, int]]:
        """``(start, end)`` token offsets of every sequence."""
        offsets = self.cu_seqlens.tolist()
        return list(zip(offsets[:-1], offsets[1:]))

    @cached_property
    def length_groups(self) -> LengthGroups:
        """The sequences grouped by length (computed on first use, then shared by all layers)."""
        seqlens = self.cu_seqlens.diff()
        sorted_lengths, sequence_order = torch.sort(seqlens, stable=True)
        lengths, counts = torch.unique_consecutive(sorted_lengths, return_counts=True)
        if len(lengths) == 1:
            return LengthGroups(None, lengths.tolist(), counts.tolist())
        new_starts = torch.cumsum(sorted_lengths, 0) - sorted_lengths
        shift = torch.repeat_interleave(self.cu_seqlens[:-1][sequence_order] - new_starts, sorted_lengths)
        token_order = torch.arange(len(shift), device=shift.device) + shift
        return LengthGroups(token_order, lengths.tolist(), counts.tolist())

    def bias(self, seq_len: int, dtype: torch.dtype) -> Optional[torch.Tensor]:
        """The ``(1, heads, seq_len, seq_len)`` ALiBi bias in ``dtype`` (``None`` without ALiBi)."""
        if self.alibi_slopes is None:
            return None
        table = (alibi_bias_matrix(self.alibi_slopes, seq_len).to(dtype) if self.alibi_bias is None
                 else self.alibi_bias(seq_len, dtype))
        return table[None, :, :seq_len, :seq_len]


def reference_attention(qkv, context: AttentionContext, dropout_p, training):
    """softmax(q k^T / sqrt(d) + bias) v per sequence, in fp32 (autocast off)."""
    head_dim = qkv.shape[-1]
    outputs = []
    with torch.autocast(qkv.device.type, enabled=False):
        for start, end in context.sequence_bounds():
            q, k, v = qkv[start:end].float().permute(1, 2, 0, 3)  # each (heads, length, head_dim)
            scores = q @ k.transpose(-1, -2) / head_dim**0.5
            if context.alibi_slopes is not None:  # computed afresh from the slopes, never from a precomputed table
                scores = scores + alibi_bias_matrix(context.alibi_slopes, end - start)
            probs = F.dropout(scores.softmax(dim=-1), p=dropout_p, training=training)
            outputs.append((probs @ v).transpose(0, 1))
    return torch.cat(outputs).to(qkv.dtype)


def sdpa_attention(qkv, context: AttentionContext, dropout_p, training):
    """PyTorch SDPA, one dense call per group of equal-length sequences (see module docstring)."""
    total, _, heads, head_dim = qkv.shape
    groups = context.length_groups
    if groups.token_order is None:  # one length: the tokens are already one dense (count, length) block
        return _attend_group(qkv, groups.lengths[0], groups.counts[0], context, dropout_p, training)
    sizes = [length * count for length, count in zip(groups.lengths, groups.counts)]
    out = qkv.new_empty(total, heads, head_dim)  # each group's result goes straight to its tokens' rows
    grouped = qkv.index_select(0, groups.token_order)
    for length, count, group, rows in zip(groups.lengths, groups.counts, grouped.split(sizes),
                                          groups.token_order.split(sizes)):
        if length:
            out.index_copy_(0, rows, _attend_group(group, length, count, context, dropout_p, training))
    return out


def _attend_group(group, length: int, count: int, context: AttentionContext, dropout_p, training) -> torch.Tensor:
    """SDPA over ``count`` sequences of ``length`` tokens: ``(count * length, 3, heads, dim) -> (.., heads, dim)``."""
    _, _, heads, head_dim = group.shape
    in_fp32 = group.dtype == torch.bfloat16 and group.device.type == "cpu" and length < CPU_BF16_MIN_LENGTH
    q, k, v = (group.float() if in_fp32 else group).view(count, length, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
    with torch.autocast("cpu", enabled=False) if in_fp32 else contextlib.nullcontext():
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=context.bias(length, q.dtype),
                                                  dropout_p=dropout_p if training else 0.0)
    return attended.transpose(1, 2).to(group.dtype).reshape(count * length, heads, head_dim)


def flash_attn_attention(qkv, context: AttentionContext, dropout_p, training):
    """flash-attn 2 varlen kernel; fp32 inputs run in bf16 (the kernel supports only fp16/bf16)."""
    if flash_attn_varlen_qkvpacked_func is None:
        raise RuntimeError(flash_attn_unavailable(FLASH_ATTN_IMPORT_ERROR))
    input_dtype = qkv.dtype
    if input_dtype not in (torch.float16, torch.bfloat16):
        _log_once(logging.WARNING, f"flash_attn: {input_dtype} activations are cast to bfloat16 for the kernel")
        qkv = qkv.to(torch.bfloat16)
    slopes = context.alibi_slopes
    out = flash_attn_varlen_qkvpacked_func(
        qkv.contiguous(),
        context.cu_seqlens.to(torch.int32),
        context.max_seqlen,
        dropout_p if training else 0.0,
        softmax_scale=None,
        causal=False,
        alibi_slopes=None if slopes is None else slopes.to(torch.float32).contiguous(),
    )
    return out.to(input_dtype)


ATTENTION_BACKENDS: dict[str, AttentionBackend] = {
    "flash_attn": flash_attn_attention,
    "sdpa": sdpa_attention,
    "reference": reference_attention,
}


def flash_attn_unavailable(import_error: Optional[BaseException]) -> str:
    """Why the flash_attn backend cannot run (one line)."""
    cause = (f"importing flash_attn failed: {type(import_error).__name__}: {import_error}" if import_error
             else "it needs the flash-attn package (requirements-gpu.txt) and a CUDA GPU")
    return f"attention_backend 'flash_attn' is unavailable: {cause}; use 'sdpa' or 'auto'"


def choose_attention_backend(name: str, on_cuda: bool, capability: Optional[tuple[int, int]],
                             flash_kernel: Optional[Callable], import_error: Optional[BaseException]) -> str:
    """The backend for config value ``name`` (pure: testable without CUDA).

    ``auto`` is flash_attn on a CUDA GPU of compute capability 8.0+ when flash-attn loads, else sdpa; when
    flash-attn failed to import on CUDA (e.g. an ABI mismatch after a torch upgrade) that is a warning with the
    exception, as the GPU then runs the slower sdpa. An explicit ``flash_attn`` that cannot load is an error.
    """
    if name == "flash_attn" and flash_kernel is None:
        raise RuntimeError(flash_attn_unavailable(import_error))
    if name != "auto":
        if name not in ATTENTION_BACKENDS:
            raise ValueError(f"attention_backend={name!r} is not one of {['auto', *ATTENTION_BACKENDS]}")
        return name
    if not on_cuda:
        return "sdpa"
    if flash_kernel is None:
        if import_error is not None:
            _log_once(logging.WARNING, f"attention_backend 'auto': flash-attn failed to import, running sdpa "
                                       f"(slower) on the GPU: {type(import_error).__name__}: {import_error}")
        return "sdpa"
    return "flash_attn" if capability is not None and capability >= FLASH_ATTN_MIN_CAPABILITY else "sdpa"


def resolve_attention_backend(name: str, device: torch.device) -> str:
    """The backend that runs for config value ``name`` on ``device``; the choice is logged once."""
    on_cuda = device.type == "cuda"
    resolved = choose_attention_backend(name, on_cuda, torch.cuda.get_device_capability(device) if on_cuda else None,
                                        flash_attn_varlen_qkvpacked_func, FLASH_ATTN_IMPORT_ERROR)
    _log_once(logging.INFO, f"attention backend: {resolved} (configured {name!r}, device {device.type})")
    return resolved


class MosaicBertAttention(nn.Module):
    """Post-LN attention sublayer on unpadded tokens: LN(x + dropout(dense(attention(Wqkv x))))."""

    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.dropout_p = config.attention_probs_dropout_prob
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = HashDropout(config.hidden_dropout_prob)
        self.LayerNorm = build_layer_norm(config)

    def forward(self, hidden: torch.Tensor, context: AttentionContext, backend: AttentionBackend) -> torch.Tensor:
        qkv = self.Wqkv(hidden).view(-1, 3, self.num_heads, self.head_dim)
        attended = backend(qkv, context, self.dropout_p, self.training)
        attended = attended.reshape(-1, self.num_heads * self.head_dim)
        return self.LayerNorm(hidden + self.dropout(self.dense(attended)))
