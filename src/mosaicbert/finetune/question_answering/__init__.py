"""Extractive question answering (``question_answering.py``): SQuAD JSON / flat JSONL -> windows of tokens -> start
and end logits -> answers in the context's characters -> exact match and F1. Imports nothing: import the modules.

config -> data (examples) -> features (windows, offsets) -> metric (n-best per window, ``postprocess``) -> run.
"""
