"""A WordPiece vocabulary learnt from the study's training text, for small shapes (``train_vocab_size``).

With bert-base-uncased's 30,522 WordPieces a hidden-128 encoder spends ~80% of a BERT training step in the
decoder (bert-base: ~22%), and short budgets go on learning word frequencies through the decoder instead of
context. 8,192 WordPieces learnt from the same text cut the decoder's share to ~55% at hidden 128.
Every arm, the held-out text and the fine-tuning task use the one vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # [PAD] = id 0, BERT's pad_token_id


def train_wordpiece(texts: Iterable[str], vocab_size: int, out_dir: Path) -> Path:
    """An uncased BERT WordPiece tokenizer of ``vocab_size`` entries learnt from ``texts``, saved in ``out_dir``
    (loadable with ``AutoTokenizer.from_pretrained``)."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  show_progress=False)
    staging = out_dir.with_name(out_dir.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    wordpiece.save_model(str(staging))
    BertTokenizerFast(vocab_file=str(staging / "vocab.txt"), do_lower_case=True,
                      model_max_length=512).save_pretrained(str(staging))
    staging.rename(out_dir)  # complete or absent: a killed study trains it again
    return out_dir
