"""The poolings a run may train (config ``pooling``), by name -> sentence-transformers' ``Pooling`` mode; the
exported model's ``1_Pooling`` is the same module, so it pools as trained."""

from __future__ import annotations

POOLING_MODES = {"mean": "mean", "cls": "cls"}
