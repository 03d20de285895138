"""The quality study: arms x equal wall-clock budgets -> held-out MLM and a downstream task (``studies/quality.py``)."""
