"""The quality study (issue 11): arms x equal wall-clock budgets, held-out MLM and downstream evaluation.

``benchmarks/quality_study.py`` is the entry point; ``docs/benchmarks/quality.md`` the result.
"""
