"""A MosaicBERT training step on the GPU path (flash-attn) reads from the device only what sets a shape.

A host sync (``.item()``, ``int(t)``, ``.tolist()``, ``nonzero``, a boolean mask index, ...) stalls a GPU's queue
once per microbatch. Unpadding needs the number of real tokens and the MLM head the number of masked tokens
(``nonzero``: they set tensor shapes); flash-attn's ``max_seqlen`` needs only an upper bound, the padded length.
Counted on CPU with a torch function mode around forward, loss and backward; the flash-attn kernel is a stand-in
with its signature (the reference kernel, not counted: on a GPU it is one CUDA call).
"""

from __future__ import annotations

import torch
from transformers import DataCollatorForLanguageModeling

from mosaicbert.architecture import ATTENTION_BACKENDS, AttentionContext
from mosaicbert.architecture import attention as attention_module
from mosaicbert.measurement.host_syncs import HostSyncCounter
from mosaicbert.models.build import build_composer_model

TINY = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
            attention_backend="flash_attn")


def test_a_training_step_syncs_only_for_the_real_and_masked_token_counts(tokenizer, news_sentences, monkeypatch):
    syncs = HostSyncCounter()

    def flash_kernel(qkv, cu_seqlens, max_seqlen, dropout_p=0.0, softmax_scale=None, causal=False,
                     alibi_slopes=None, **_):
        with syncs.paused():
            assert max_seqlen >= int(cu_seqlens.diff().max())
            return ATTENTION_BACKENDS["reference"](qkv, AttentionContext(cu_seqlens, max_seqlen, alibi_slopes),
                                                   dropout_p, dropout_p > 0)

    monkeypatch.setattr(attention_module, "flash_attn_varlen_qkvpacked_func", flash_kernel)
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "mlm", model_config=TINY).train()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    batch = collator([tokenizer(s, truncation=True, max_length=40) for s in news_sentences[:8]])
    assert (batch["attention_mask"] == 0).any(), "the batch must hold padding"
    with syncs:
        loss = model.loss(model(batch), batch)
        loss.backward()
    assert torch.isfinite(loss) and model.model.bert.encoder.layer[0].attention.Wqkv.weight.grad is not None
    assert syncs.calls == ["nonzero", "nonzero"]  # unpadding's real tokens, then the MLM head's masked tokens
