"""``bash scripts/gpu_check.sh``: does the GPU path work, and how fast? One table and one JSON file (docs/gpu_check.md).

Each check is one module (``attention``, ``pretraining``, ``throughput``, ``fsdp``, ``glue_sweep``, ``compile``),
listed with the packages it needs in ``registry.CHECKS``; ``profiles.py`` holds the sizes of the GPU run and of
the CPU dry run (``--cpu-dry-run``: the same code with CPU stand-ins, part of the test suite).
"""
