"""MosaicBertConfig: BERT's config plus the MosaicBERT switches (ALiBi, GeGLU, unpadded attention backends)."""

from __future__ import annotations

from transformers import BertConfig

POSITION_EMBEDDING_TYPES = ("alibi", "absolute")
FFN_TYPES = ("glu", "mlp")
ATTENTION_BACKEND_NAMES = ("auto", "flash_attn", "sdpa", "reference")


def _check_choice(key: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"MosaicBertConfig.{key}={value!r} is not one of {list(choices)}")


class MosaicBertConfig(BertConfig):
    """Configuration of a MosaicBERT encoder; defaults are the bert-base shape with the MosaicBERT recipe.

    Extra fields over ``BertConfig``:

    - ``position_embedding_type``: ``"alibi"`` (no position embeddings, ALiBi attention biases) or
      ``"absolute"`` (learned positions as in BERT).
    - ``ffn_type``: ``"glu"`` (GeGLU, fused in-projection of width ``2 * intermediate_size``) or ``"mlp"``.
    - ``attention_backend``: ``"auto"`` (flash_attn on a capable CUDA device when installed, else sdpa),
      ``"flash_attn"``, ``"sdpa"`` or ``"reference"``.
    - ``pad_vocab_size_multiple``: embedding rows are padded up to this multiple; padded rows are never predicted.
    - ``alibi_starting_size``: sequence length of the precomputed ALiBi bias (grown on demand).
    - ``low_precision_layernorm``: under autocast, LayerNorm runs in the autocast dtype instead of fp32.
    - ``glu_input_bias``: the GeGLU in-projection has a bias. ``False`` is the original MosaicBERT; ``True``
      only loads checkpoints written by earlier versions of this recipe (detected on import).

    ``attention_probs_dropout_prob`` defaults to 0.0 as in the original MosaicBERT (BERT's is 0.1).

    With ``position_embedding_type="absolute"`` and ``ffn_type="mlp"`` the network is exactly BERT.
    """

    model_type = "mosaic_bert"

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        position_embedding_type: str = "alibi",
        ffn_type: str = "glu",
        attention_backend: str = "auto",
        pad_vocab_size_multiple: int = 64,
        alibi_starting_size: int = 512,
        low_precision_layernorm: bool = True,
        glu_input_bias: bool = False,
        attention_probs_dropout_prob: float = 0.0,
        **kwargs,
    ):
        super().__init__(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            num_hidden_layers=num_hidden_layers,
            num_attention_heads=num_attention_heads,
            intermediate_size=intermediate_size,
            position_embedding_type=position_embedding_type,
            attention_probs_dropout_prob=attention_probs_dropout_prob,
            **kwargs,
        )
        _check_choice("position_embedding_type", position_embedding_type, POSITION_EMBEDDING_TYPES)
        _check_choice("ffn_type", ffn_type, FFN_TYPES)
        _check_choice("attention_backend", attention_backend, ATTENTION_BACKEND_NAMES)
        if hidden_size % num_attention_heads:
            raise ValueError(f"MosaicBertConfig.hidden_size={hidden_size} is not a multiple of "
                             f"num_attention_heads={num_attention_heads}")
        if pad_vocab_size_multiple < 1:
            raise ValueError(f"MosaicBertConfig.pad_vocab_size_multiple={pad_vocab_size_multiple} must be >= 1")
        if alibi_starting_size < 1:
            raise ValueError(f"MosaicBertConfig.alibi_starting_size={alibi_starting_size} must be >= 1")
        self.ffn_type = ffn_type
        self.attention_backend = attention_backend
        self.pad_vocab_size_multiple = pad_vocab_size_multiple
        self.alibi_starting_size = alibi_starting_size
        self.low_precision_layernorm = low_precision_layernorm
        self.glu_input_bias = glu_input_bias

    @property
    def padded_vocab_size(self) -> int:
        """Number of embedding rows: ``vocab_size`` rounded up to ``pad_vocab_size_multiple``."""
        multiple = self.pad_vocab_size_multiple
        return -(-self.vocab_size // multiple) * multiple
