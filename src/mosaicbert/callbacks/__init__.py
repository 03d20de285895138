"""Composer callbacks of the recipe (everything else comes from ``composer.callbacks``)."""

from .nonfinite_loss import NonFiniteLossError, NonFiniteLossGuard

__all__ = ["NonFiniteLossError", "NonFiniteLossGuard"]
