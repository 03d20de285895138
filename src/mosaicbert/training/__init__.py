"""Training assembly: config loading/validation and the registries that turn YAML sections into objects.

Stable API (shared by ``main.py`` and ``glue.py``):

- ``load_config(yaml_path, overrides, schema)`` -> validated dataclass; problems raise ``ConfigError``
  (one line naming the key); ``time_field`` / ``registry_field`` declare checked schema fields.
- ``build_optimizer(section, model)``, ``build_scheduler(section)``, ``build_loggers(section)``,
  ``build_callbacks(section)``, ``build_algorithms(section, **injected)``; the registries themselves are
  ``OPTIMIZERS``, ``SCHEDULERS``, ``LOGGERS``, ``CALLBACKS``, ``ALGORITHMS``.
- ``resolve_precision(precision, device)`` -> (Trainer precision, model autocast dtype).
"""

from .algorithms import ALGORITHMS, build_algorithms
from .callbacks import CALLBACKS, build_callbacks
from .config import ConfigError, load_config, parse_time, registry_field, time_field
from .loggers import LOGGERS, build_loggers
from .optimizers import OPTIMIZERS, build_optimizer
from .precision import resolve_precision
from .registry import Registry
from .schedulers import SCHEDULERS, build_scheduler

__all__ = [
    "ALGORITHMS",
    "CALLBACKS",
    "LOGGERS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "ConfigError",
    "Registry",
    "build_algorithms",
    "build_callbacks",
    "build_loggers",
    "build_optimizer",
    "build_scheduler",
    "load_config",
    "parse_time",
    "registry_field",
    "resolve_precision",
    "time_field",
]
