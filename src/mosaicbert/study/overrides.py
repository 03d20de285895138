"""A study's overrides of a recipe as ``key=value`` lines: nested or dotted keys, flattened the way
``config.loading.load_config`` reads them, so an arm's overrides are exactly what a user would type."""

from __future__ import annotations

import json
from typing import Any, Mapping


def flatten(overrides: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested or dotted keys -> dotted leaf keys: ``{"a": {"b": 1}, "c.d": 2}`` -> ``{"a.b": 1, "c.d": 2}``."""
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def dotlist(overrides: Mapping[str, Any]) -> list[str]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``["a.b=1", "c=[1, 2]"]`` (JSON is valid YAML for every value)."""
    return [f"{key}={json.dumps(value)}" for key, value in flatten(overrides).items()]
