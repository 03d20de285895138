"""The ALiBi slopes stay exact fp32 under every sharding, including FSDP1's default mixed precision.

Composer's FSDP1 under amp_bf16 casts every module buffer to bf16 (``MixedPrecision(buffer_dtype=bf16)``, at lazy
init), which rounds 4 of bert-base's 12 slopes (the non-powers of two, up to 1.1e-4 relative): training would then
differ from DDP, export and fine-tuning. Simulated here exactly as FSDP1 does it, on real text.
"""

from __future__ import annotations

import torch

from mosaicbert.architecture import MosaicBertConfig, MosaicBertModel, alibi_slopes

HEADS = 12  # bert-base's head count: 8 power-of-two slopes (exact in bf16) and 4 interpolated ones


def _cast_floating_buffers(module: torch.nn.Module, dtype: torch.dtype) -> None:
    """What FSDP1's ``MixedPrecision(buffer_dtype=dtype)`` does to the wrapped module's buffers."""
    for submodule in module.modules():
        for name, buffer in submodule._buffers.items():
            if buffer is not None and buffer.is_floating_point():
                submodule._buffers[name] = buffer.to(dtype)


def test_bf16_buffers_leave_the_alibi_slopes_and_outputs_unchanged(tokenizer, news_sentences):
    assert (alibi_slopes(HEADS).bfloat16().float() != alibi_slopes(HEADS)).sum() == 4  # bf16 would round these
    torch.manual_seed(0)
    config = MosaicBertConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=HEADS, intermediate_size=96,
                              attention_backend="reference")  # the kernel that reads the slopes themselves
    model = MosaicBertModel(config).eval()
    batch = dict(tokenizer(news_sentences[:4], padding=True, truncation=True, max_length=40, return_tensors="pt"))
    with torch.no_grad():
        expected = model(**batch).last_hidden_state
        _cast_floating_buffers(model, torch.bfloat16)
        after = model(**batch).last_hidden_state
    assert torch.equal(after, expected)
    slopes = model.encoder.alibi.slopes_on(torch.device("cpu"))
    assert slopes.dtype == torch.float32 and torch.equal(slopes, alibi_slopes(HEADS))
