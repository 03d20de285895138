"""Training assembly: config loading/validation and the registries that turn YAML sections into objects.

Stable API (shared by ``main.py`` and ``glue.py``):

- ``load_config(yaml_path, overrides, schema)`` -> validated dataclass; problems raise ``ConfigError``
  (one line naming the key); ``time_field`` / ``registry_field`` declare checked schema fields.
- ``build_optimizer(section, model)``, ``build_scheduler(section)``, ``build_loggers(section)``,
  ``build_callbacks(section)``, ``build_algorithms(section, **injected)``; the registries themselves are
  ``OPTIMIZERS``, ``SCHEDULERS``, ``LOGGERS``, ``CALLBACKS``, ``ALGORITHMS`` (``registries.py``).
- ``resolve_precision(precision, device)`` -> (Trainer precision, model autocast dtype); ``default_device()``.

The names load with their module on first use, so ``main.py --help`` (``training.cli``) loads no Composer.
"""

from importlib import import_module

_MODULE_OF = {
    "ALGORITHMS": "registries",
    "CALLBACKS": "registries",
    "LOGGERS": "registries",
    "OPTIMIZERS": "registries",
    "SCHEDULERS": "registries",
    "build_algorithms": "registries",
    "build_callbacks": "registries",
    "build_loggers": "registries",
    "build_optimizer": "registries",
    "build_scheduler": "registries",
    "ConfigError": "config",
    "load_config": "config",
    "parse_time": "config",
    "registry_field": "config",
    "time_field": "config",
    "Registry": "registry",
    "default_device": "precision",
    "resolve_precision": "precision",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_MODULE_OF[name]}", __name__), name)
