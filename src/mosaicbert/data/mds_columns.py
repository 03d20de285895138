"""The column names of this recipe's MDS shards: written by ``conversion``, read by ``text_dataset``."""

TEXT = "text"  # str: a raw document, tokenized by the dataset
TOKENS = "input_ids"  # ndarray of token ids with the tokenizer's special tokens
DOCUMENT_LENGTHS = "document_lengths"  # ndarray: token count of each document packed into the row (in order)
