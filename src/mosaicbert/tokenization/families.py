"""The tokenizer families a vocabulary can be learnt in: registry ``TOKENIZER_FAMILIES`` (``--algorithm`` name ->
:class:`TokenizerFamily`).

* ``wordpiece`` - BERT's: BERT normalizer (uncased by default, as bert-base-uncased; cased as Bioformer), ``##``
  continuation pieces, ``[PAD]`` as id 0 (BERT's ``pad_token_id``). For MosaicBERT and transformers' BERT.
* ``bpe`` - ModernBERT's: byte-level BPE (every byte has a token: no ``[UNK]`` in practice), cased, ``Ġ`` marking a
  leading space, BERT's ``[CLS] ... [SEP]`` template. For ModernBERT.

Each family builds the empty ``tokenizers`` pipeline, its trainer and the ``transformers`` wrapper that saves a folder
every loader here (``AutoTokenizer``, :func:`mosaicbert.tokenizer.load_tokenizer`) reads. The embedding is not padded
here: the vocabulary keeps the size asked for, and the model rounds its embedding rows up to a multiple of 64
(MosaicBERT's ``pad_vocab_size_multiple``, ModernBERT's ``tokenizer_config``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from tokenizers.trainers import Trainer
    from transformers import PreTrainedTokenizerFast

# BERT's special tokens, in both families (ModernBERT kept them); [PAD] first: id 0, BERT's pad_token_id
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
ROLES = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
         "mask_token": "[MASK]"}
MIN_FREQUENCY = 2  # a piece seen once is noise (a typo, a name): not worth a row of the embedding
WORDPIECE_ALPHABET = 1000  # characters WordPiece keeps as pieces of their own (BERT's trainer default)


@dataclass(frozen=True)
class TokenizerFamily:
    """How one family's vocabulary is learnt and saved."""

    name: str
    description: str
    cased: bool  # the family's default casing
    model_families: tuple[str, ...]  # the model families (models/registry.py) whose recipes use it
    max_length: int  # the saved tokenizer's model_max_length (its family's recipes)
    kept_alphabet: int  # pieces the family keeps whatever the corpus (byte-level BPE: one per byte)
    pipeline: Callable[[bool], "Tokenizer"]  # cased -> the untrained tokenizer
    trainer: Callable[[int, bool], "Trainer"]  # (vocab_size, show_progress) -> its trainer
    wrapper: Callable[..., "PreTrainedTokenizerFast"]  # the transformers class that saves it

    def min_vocab_size(self) -> int:
        """The smallest vocabulary the family can learn: its special tokens and the alphabet it always keeps."""
        return len(SPECIAL_TOKENS) + max(self.kept_alphabet, 1)


def _template(tokenizer: "Tokenizer") -> None:
    """BERT's inputs: ``[CLS] A [SEP]`` and ``[CLS] A [SEP] B [SEP]`` (B as token type 1)."""
    from tokenizers.processors import TemplateProcessing

    tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[(t, tokenizer.token_to_id(t)) for t in ("[CLS]", "[SEP]")])


def _wordpiece_pipeline(cased: bool) -> "Tokenizer":
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                      lowercase=not cased)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def _wordpiece_trainer(vocab_size: int, show_progress: bool) -> "Trainer":
    from tokenizers.trainers import WordPieceTrainer

    return WordPieceTrainer(vocab_size=vocab_size, min_frequency=MIN_FREQUENCY, special_tokens=list(SPECIAL_TOKENS),
                            limit_alphabet=WORDPIECE_ALPHABET, continuing_subword_prefix="##",
                            show_progress=show_progress)


def _wordpiece_wrapper(tokenizer: "Tokenizer", cased: bool, max_length: int) -> "PreTrainedTokenizerFast":
    from transformers import BertTokenizerFast  # a PreTrainedTokenizerFast that exports as BERT's tokenizer class

    return BertTokenizerFast(tokenizer_object=tokenizer, do_lower_case=not cased, strip_accents=None,
                             tokenize_chinese_chars=True, model_max_length=max_length, **ROLES)


def _bpe_pipeline(cased: bool) -> "Tokenizer":
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    if not cased:
        tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def _bpe_trainer(vocab_size: int, show_progress: bool) -> "Trainer":
    from tokenizers import pre_tokenizers
    from tokenizers.trainers import BpeTrainer

    return BpeTrainer(vocab_size=vocab_size, min_frequency=MIN_FREQUENCY, special_tokens=list(SPECIAL_TOKENS),
                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=show_progress)


def _bpe_wrapper(tokenizer: "Tokenizer", cased: bool, max_length: int) -> "PreTrainedTokenizerFast":
    from transformers import PreTrainedTokenizerFast  # ModernBERT's own tokenizer class

    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=max_length, **ROLES)


TOKENIZER_FAMILIES: dict[str, TokenizerFamily] = {family.name: family for family in (
    TokenizerFamily("wordpiece", "BERT-style WordPiece", cased=False, model_families=("mosaic_bert", "hf_bert"),
                    max_length=512, kept_alphabet=0, pipeline=_wordpiece_pipeline, trainer=_wordpiece_trainer,
                    wrapper=_wordpiece_wrapper),
    TokenizerFamily("bpe", "ModernBERT-style byte-level BPE", cased=True, model_families=("modernbert",),
                    max_length=8192, kept_alphabet=256, pipeline=_bpe_pipeline, trainer=_bpe_trainer,
                    wrapper=_bpe_wrapper),
)}


def finish(family: TokenizerFamily, tokenizer: "Tokenizer", cased: bool) -> "PreTrainedTokenizerFast":
    """A trained pipeline with BERT's input template, as the family's ``transformers`` tokenizer."""
    _template(tokenizer)
    return family.wrapper(tokenizer, cased, family.max_length)
