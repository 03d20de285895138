"""Vocabularies of one's own (train_tokenizer.py): the tokenizer families, training, fertility, word starts.

Imports nothing: import the modules.
"""
