"""Sentence embeddings: contrastive fine-tuning of any family's encoder into a sentence-transformers model
(``sentence_embeddings.py``) and its scoring on similarity and retrieval (``evaluate_embeddings.py``).

Imports nothing: the entry points' ``--help`` stays light; import the modules.
"""
