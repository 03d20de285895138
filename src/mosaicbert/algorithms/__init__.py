"""Composer algorithms of the recipe."""
