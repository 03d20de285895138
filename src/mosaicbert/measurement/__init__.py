"""What ``benchmarks/`` and ``scripts/gpu_check.sh`` both measure with, so their figures count alike: device
timing, one training step and its FLOPs, the matmul peak, the recipe's news batches, unpadding's host syncs."""
