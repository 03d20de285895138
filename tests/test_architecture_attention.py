"""Attention backends, ALiBi and unpadding of the MosaicBERT network, on real tokenized news text."""

from __future__ import annotations

import importlib.abc
import inspect
import logging
import sys

import pytest
import torch

from mosaicbert.architecture import (
    ATTENTION_BACKENDS,
    AttentionContext,
    MosaicBertConfig,
    MosaicBertModel,
    alibi_slopes,
)
from mosaicbert.architecture import attention as attention_module
from mosaicbert.architecture.alibi import alibi_bias

CPU_BACKENDS = ["sdpa", "reference", "flash_attn"]  # flash_attn through the reference kernel (fixture below)


def flash_attn_varlen_qkvpacked_func(qkv, cu_seqlens, max_seqlen, dropout_p=0.0, softmax_scale=None, causal=False,
                                     window_size=(-1, -1), softcap=0.0, alibi_slopes=None, deterministic=False,
                                     return_attn_probs=False):
    """Stand-in for flash-attn 2's kernel (same signature) that checks the call contract, then runs the reference."""
    assert qkv.dtype in (torch.float16, torch.bfloat16) and qkv.is_contiguous()
    assert qkv.dim() == 4 and qkv.shape[1] == 3
    assert cu_seqlens.dtype == torch.int32 and cu_seqlens[0] == 0 and cu_seqlens[-1] == qkv.shape[0]
    assert max_seqlen >= int(cu_seqlens.diff().max())  # an upper bound, as flash-attn's kernel needs
    assert softmax_scale is None and not causal and not return_attn_probs
    assert alibi_slopes is None or (alibi_slopes.dtype == torch.float32 and alibi_slopes.shape == (qkv.shape[2],))
    KERNEL_CALLS.append({"dropout_p": dropout_p, "alibi": alibi_slopes is not None})
    context = AttentionContext(cu_seqlens, max_seqlen, alibi_slopes)
    return ATTENTION_BACKENDS["reference"](qkv, context, dropout_p, dropout_p > 0)


KERNEL_CALLS: list[dict] = []


@pytest.fixture(autouse=True)
def reference_flash_kernel(monkeypatch):
    """Substitute the reference for the flash-attn kernel symbol only; the adapter's own code runs."""
    KERNEL_CALLS.clear()
    monkeypatch.setattr(attention_module, "flash_attn_varlen_qkvpacked_func", flash_attn_varlen_qkvpacked_func)


@pytest.fixture(scope="module")
def news_batch(tokenizer, news_sentences):
    batch = tokenizer(news_sentences[:6], padding=True, truncation=True, max_length=40, return_tensors="pt")
    lengths = batch["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 3, "test needs sequences of different lengths"
    return batch


def tiny_model(backend: str, position_embedding_type: str = "alibi", **overrides) -> MosaicBertModel:
    torch.manual_seed(0)
    settings = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=6, intermediate_size=96,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config = MosaicBertConfig(attention_backend=backend, position_embedding_type=position_embedding_type,
                              **{**settings, **overrides})
    return MosaicBertModel(config).eval()


def test_flash_stand_in_has_the_kernel_signature():
    """Where flash-attn is installed (GPU machines), the stand-in must match the real kernel's signature."""
    flash_attn = pytest.importorskip("flash_attn")
    real = inspect.signature(flash_attn.flash_attn_varlen_qkvpacked_func)
    assert list(real.parameters) == list(inspect.signature(flash_attn_varlen_qkvpacked_func).parameters)


def test_alibi_slopes_follow_the_paper_for_any_head_count():
    assert torch.allclose(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    # 12 heads: the 8 slopes of 8 heads, then every other slope of 16 heads (2^-0.5, 2^-1.5, ...)
    expected = [2.0 ** -(i + 1) for i in range(8)] + [2.0 ** -(0.5 + i) for i in range(4)]
    assert torch.allclose(alibi_slopes(12), torch.tensor(expected))
    assert alibi_slopes(6).unique().numel() == 6
    bias = alibi_bias(alibi_slopes(4), 5)
    assert torch.equal(bias, bias.transpose(1, 2)) and bias[0, 0, 3] == -3 * 0.25  # 4 heads: slopes 2^-2, 2^-4, ...


@pytest.mark.parametrize("position_embedding_type", ["alibi", "absolute"])
def test_backends_agree_on_outputs_and_gradients(news_batch, position_embedding_type):
    mask = news_batch["attention_mask"].bool()
    results = {}
    for backend in CPU_BACKENDS:
        model = tiny_model(backend, position_embedding_type)
        hidden = model(**news_batch).last_hidden_state
        hidden[mask].square().sum().backward()
        results[backend] = (hidden[mask].detach(), model.encoder.layer[0].attention.Wqkv.weight.grad)
    reference_hidden, reference_grad = results["reference"]
    sdpa_hidden, sdpa_grad = results["sdpa"]
    torch.testing.assert_close(sdpa_hidden, reference_hidden, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sdpa_grad, reference_grad, atol=1e-4, rtol=1e-4)
    flash_hidden, flash_grad = results["flash_attn"]  # the adapter runs the kernel in bf16
    torch.testing.assert_close(flash_hidden, reference_hidden, atol=5e-2, rtol=5e-2)
    torch.testing.assert_close(flash_grad, reference_grad, atol=0.1, rtol=0.1)
    assert KERNEL_CALLS and all(call["alibi"] == (position_embedding_type == "alibi") for call in KERNEL_CALLS)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_outputs_do_not_depend_on_the_other_sequences_in_the_batch(news_batch, backend):
    model = tiny_model(backend)
    with torch.no_grad():
        batched = model(**news_batch).last_hidden_state
        for row, length in enumerate(news_batch["attention_mask"].sum(1).tolist()):
            alone = model(**{k: v[row: row + 1, :length] for k, v in news_batch.items()}).last_hidden_state
            tolerance = 1e-2 if backend == "flash_attn" else 1e-5
            torch.testing.assert_close(batched[row, :length], alone[0], atol=tolerance, rtol=tolerance)
            assert not batched[row, length:].any()


def test_padding_content_never_reaches_the_network(news_batch):
    model = tiny_model("sdpa")
    scrambled = {k: v.clone() for k, v in news_batch.items()}
    padding = news_batch["attention_mask"] == 0
    scrambled["input_ids"][padding] = 1000  # any token id where the mask is 0
    scrambled["token_type_ids"][padding] = 1
    with torch.no_grad():
        torch.testing.assert_close(model(**scrambled).last_hidden_state, model(**news_batch).last_hidden_state,
                                   atol=0, rtol=0)


def test_alibi_extends_beyond_the_precomputed_size(tokenizer, news_articles):
    batch = tokenizer(news_articles[:2], truncation=True, max_length=64, return_tensors="pt")
    short_table = tiny_model("sdpa", alibi_starting_size=16)
    long_table = tiny_model("sdpa", alibi_starting_size=128)
    with torch.no_grad():
        extended = short_table(**batch).last_hidden_state
        torch.testing.assert_close(extended, long_table(**batch).last_hidden_state, atol=1e-5, rtol=1e-5)
        short_table.encoder.attention_backend = "reference"
        torch.testing.assert_close(short_table(**batch).last_hidden_state, extended, atol=1e-5, rtol=1e-5)
    assert [table.shape[-1] for table in short_table.encoder.alibi.tables.values()] == [64]  # grown once, to 2^6


def test_alibi_tables_are_built_lazily_once_per_dtype_and_never_for_flash_attn(news_batch):
    """flash-attn takes only the slopes; SDPA builds one table per dtype, grown by doubling (not per length)."""
    model = tiny_model("flash_attn", alibi_starting_size=16)
    with torch.no_grad():
        model(**news_batch)
    assert model.encoder.alibi.tables == {}
    alibi = tiny_model("sdpa", alibi_starting_size=16).encoder.alibi
    for length in (5, 16, 17, 30, 33):
        alibi.bias(length, torch.float32)
    assert alibi.bias(20, torch.bfloat16).dtype == torch.bfloat16
    assert {dtype: table.shape[-1] for (dtype, _), table in alibi.tables.items()} == {torch.float32: 64,
                                                                                       torch.bfloat16: 32}


def test_attention_dropout_is_applied_only_in_training(news_batch):
    for backend in CPU_BACKENDS:
        model = tiny_model(backend, attention_probs_dropout_prob=0.5)
        assert attention_module.resolve_attention_backend(backend, torch.device("cpu")) == backend
        model.train()
        first, second = (model(**news_batch).last_hidden_state for _ in range(2))
        assert not torch.allclose(first, second), f"{backend}: no attention dropout in training"
        model.eval()
        with torch.no_grad():
            torch.testing.assert_close(model(**news_batch).last_hidden_state,
                                       model(**news_batch).last_hidden_state)
    assert {call["dropout_p"] for call in KERNEL_CALLS} == {0.5, 0.0}


def test_auto_backend_uses_sdpa_on_cpu_even_with_flash_installed():
    assert attention_module.resolve_attention_backend("auto", torch.device("cpu")) == "sdpa"
    with pytest.raises(ValueError, match="attention_backend"):
        MosaicBertConfig(attention_backend="triton")


def test_flash_backend_without_the_package_fails_clearly(monkeypatch):
    monkeypatch.setattr(attention_module, "flash_attn_varlen_qkvpacked_func", None)
    with pytest.raises(RuntimeError, match="flash-attn"):
        tiny_model("flash_attn")(torch.ones(1, 4, dtype=torch.long))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sdpa_backend_runs_the_fused_cpu_kernel_and_groups_lengths_once_per_pass(news_batch, dtype):
    """ALiBi attention stays on SDPA's fused CPU kernel (not the unfused math path) in fp32 and bf16 autocast,
    and the length grouping (a host sync) happens once per forward pass, not once per layer."""
    model = tiny_model("sdpa").train()
    with torch.profiler.profile() as profiler, torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
        model(**news_batch).last_hidden_state.sum().backward()
    calls = {event.key: event.count for event in profiler.key_averages()}
    assert calls.get("aten::_scaled_dot_product_flash_attention_for_cpu", 0) >= model.config.num_hidden_layers
    assert "aten::_scaled_dot_product_attention_math" not in calls
    assert calls["aten::unique_consecutive"] == 1


def test_short_sequences_attend_in_fp32_under_bf16_autocast_on_cpu(news_batch, monkeypatch):
    """Below CPU_BF16_MIN_LENGTH SDPA computes in fp32 even under bf16 autocast, and the layer's output stays
    bf16; the result matches the fp32 reference within bf16 rounding."""
    sdpa, computed_dtypes = torch.nn.functional.scaled_dot_product_attention, []

    def recording_sdpa(q, k, v, **kwargs):
        out = sdpa(q, k, v, **kwargs)
        computed_dtypes.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", recording_sdpa)
    model = tiny_model("sdpa")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = model(**news_batch).last_hidden_state
    assert computed_dtypes and set(computed_dtypes) == {torch.float32}
    assert hidden.dtype == torch.bfloat16
    reference = tiny_model("reference")
    with torch.no_grad():
        expected = reference(**news_batch).last_hidden_state
    mask = news_batch["attention_mask"].bool()
    torch.testing.assert_close(hidden[mask].float(), expected[mask], atol=0.1, rtol=0.05)


def test_failed_flash_attn_import_warns_under_auto_and_fails_when_requested(monkeypatch, caplog):
    """A flash-attn whose import fails like an ABI mismatch does (its CUDA extension raises ImportError: undefined
    symbol): ``auto`` on a CUDA GPU warns with the exception and runs sdpa; explicit ``flash_attn`` is an error."""
    abi_error = "flash_attn_2_cuda.so: undefined symbol: _ZN3c105ErrorC2ENS_14SourceLocationE"

    class BrokenFlashAttn(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "flash_attn":
                raise ImportError(abi_error)
            return None

    monkeypatch.delitem(sys.modules, "flash_attn", raising=False)
    monkeypatch.setattr(sys, "meta_path", [BrokenFlashAttn(), *sys.meta_path])
    kernel, error = attention_module.load_flash_attn()
    assert kernel is None and str(error) == abi_error
    attention_module._log_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger=attention_module.__name__):
        assert attention_module.choose_attention_backend("auto", True, (8, 0), kernel, error) == "sdpa"
    assert "flash-attn failed to import" in caplog.text and abi_error in caplog.text
    with pytest.raises(RuntimeError, match=r"'flash_attn' is unavailable: importing flash_attn failed: ImportError"):
        attention_module.choose_attention_backend("flash_attn", True, (8, 0), kernel, error)
    # a kernel that loads: auto picks it on Ampere+, sdpa on older GPUs and on CPU
    choose = attention_module.choose_attention_backend
    assert choose("auto", True, (8, 0), flash_attn_varlen_qkvpacked_func, None) == "flash_attn"
    assert choose("auto", True, (7, 5), flash_attn_varlen_qkvpacked_func, None) == "sdpa"
    assert choose("auto", False, None, flash_attn_varlen_qkvpacked_func, None) == "sdpa"
