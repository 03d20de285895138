"""The long-context study: phase 1 short, context extension in phase 2, CE by evaluation length
(``studies/long_context.py``)."""
