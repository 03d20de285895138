"""Config loading and validation: YAML + ``key=value`` overrides -> a typed, validated dataclass.

A schema is an omegaconf structured config (a dataclass). Besides omegaconf's own checks (unknown key,
wrong type, missing value), fields can carry metadata checked here:

- :func:`time_field` -- a Composer time string (``"1000ba"``, ``"0.06dur"``, ``"286720000sp"``);
- :func:`registry_field` -- a section validated by a :class:`~mosaicbert.config.registry.Registry`;
- a schema may define ``validate(self)`` for checks spanning several fields (e.g. that a path exists).

Every problem becomes a :class:`ConfigError`: one line naming the key.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Mapping, Sequence, TypeVar

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException, ValidationError

from mosaicbert import exit_codes
from mosaicbert.did_you_mean import did_you_mean

Schema = TypeVar("Schema")


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the offending key or file."""

    exit_code = exit_codes.USAGE


def time_field(default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """A dataclass field holding a Composer time string, validated when the config is loaded."""
    return dataclasses.field(default=default, metadata={"time": True}, **kwargs)


def registry_field(registry: Any, *, many: bool, default_factory: Any = dict) -> Any:
    """A section validated by ``registry``: ``{name: ..., **kwargs}`` or, with ``many``, ``{name: kwargs, ...}``."""
    return dataclasses.field(default_factory=default_factory, metadata={"registry": registry, "many": many})


def parse_time(value: Any, key: str):
    """Parse a Composer time string (``"10ba"``, ``"0.5dur"``, ...), or raise a ConfigError naming ``key``."""
    from composer.core import Time

    try:
        return Time.from_timestring(str(value))
    except (ValueError, TypeError):
        raise ConfigError(f"config key '{key}': cannot parse {value!r} as a Composer time "
                          "(expected e.g. '1000ba', '10ep', '286720000sp', '1000000tok', '0.5dur')") from None


def merge_structured(schema: type, *sources: Any, prefix: str = "") -> Any:
    """Merge ``sources`` onto the structured ``schema`` and return the typed dataclass instance.

    omegaconf's errors become ConfigErrors; ``prefix`` is prepended to key names in messages.
    """
    try:
        merged = OmegaConf.structured(schema)
        for source in sources:
            for key, accepted in _renamed_registry_sections(schema, merged, source):
                # another class keeps only the earlier arguments it takes (a constant schedule has no t_warmup)
                merged[key] = {k: v for k, v in merged[key].items() if accepted is None or k in accepted}
            merged = OmegaConf.merge(merged, source)
    except OmegaConfBaseException as err:
        raise _translate(err, prefix) from None
    missing = sorted(OmegaConf.missing_keys(merged))
    if missing:
        raise ConfigError(f"config key '{prefix}{missing[0]}': a value is required but none was given")
    try:
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        raise _translate(err, prefix) from None


def _renamed_registry_sections(schema: type, merged: Any, source: Any) -> list[tuple[str, set[str] | None]]:
    """The single-class registry sections (``scheduler``, ``optimizer``) to which ``source`` gives another ``name``,
    each with the arguments of that class (None: any)."""
    renamed = []
    for f in dataclasses.fields(schema):
        registry = f.metadata.get("registry")
        if registry is None or f.metadata.get("many"):
            continue
        given = source.get(f.name) if isinstance(source, DictConfig) else None
        if isinstance(given, DictConfig) and "name" in given and given.get("name") != merged[f.name].get("name"):
            accepted = registry.arguments(str(given.get("name")))
            renamed.append((f.name, None if accepted is None else accepted | {"name"}))
    return renamed


def _translate(err: OmegaConfBaseException, prefix: str) -> ConfigError:
    key = f"{prefix}{err.full_key}" if err.full_key else prefix.rstrip(".") or "<root>"
    owner = err.object_type
    if isinstance(err, ConfigKeyError) and dataclasses.is_dataclass(owner):
        parent = key.rpartition(".")[0]
        names = [f"{parent}.{f.name}" if parent else f.name for f in dataclasses.fields(owner)]
        return ConfigError(f"unknown config key '{key}'{did_you_mean(key, names)}")
    if isinstance(err, MissingMandatoryValue):
        return ConfigError(f"config key '{key}': a value is required but none was given")
    if isinstance(err, ValidationError):
        expected = _expected_type(owner, err.key)
        detail = f"expected {expected}, got {err.value!r}" if expected else (err.msg or str(err)).splitlines()[0]
        return ConfigError(f"config key '{key}': {detail}")
    return ConfigError(f"config key '{key}': {(err.msg or str(err)).splitlines()[0]}")


def _expected_type(owner: Any, field_name: Any) -> str | None:
    if not (dataclasses.is_dataclass(owner) and isinstance(field_name, str)):
        return None
    try:
        hint = typing.get_type_hints(owner).get(field_name)
    except (NameError, TypeError):
        return None
    return _type_name(hint)


def _type_name(hint: Any) -> str | None:
    """Readable name of a schema type: ``float``, ``a list of float``, ``a mapping``; None for ``Any``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(n for n in names if n) or None
    if origin in (list, tuple):
        item = _type_name(args[0]) if args else None
        return f"a list of {item}" if item else "a list"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return getattr(hint, "__name__", None) if hint is not Any else None


def check_fields(obj: Any, prefix: str = "") -> None:
    """Validate the field metadata (time strings, registry sections) of a loaded dataclass, recursively."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if value is None:
            continue
        if f.metadata.get("time"):
            parse_time(value, key)
        elif "registry" in f.metadata:
            registry = f.metadata["registry"]
            if f.metadata["many"]:
                registry.parse_many(value, key)
            else:
                registry.parse_one(value, key)
        elif dataclasses.is_dataclass(value):
            check_fields(value, key + ".")
        elif isinstance(value, Mapping):
            for name, item in value.items():
                if dataclasses.is_dataclass(item):
                    check_fields(item, f"{key}.{name}.")


def parse_overrides(overrides: Sequence[str]) -> DictConfig:
    """``["a.b=1", "c=x"]`` -> a DictConfig; a malformed item is a ConfigError."""
    for item in overrides:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ConfigError(f"command-line override {item!r} is not of the form key=value")
    try:
        return OmegaConf.from_dotlist(list(overrides))
    except OmegaConfBaseException as err:
        raise ConfigError(f"cannot parse command-line overrides: {str(err).splitlines()[0]}") from None


def load_config(yaml_path: str | Path, overrides: Sequence[str], schema: type[Schema]) -> Schema:
    """Load ``yaml_path``, apply ``key=value`` overrides, validate against ``schema``; return the dataclass.

    Raises:
        ConfigError: one line naming the file or key at fault.
    """
    path = Path(yaml_path)
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        file_cfg = OmegaConf.load(path)
    except (yaml.YAMLError, OmegaConfBaseException) as err:
        raise ConfigError(f"config file '{path}' is not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(file_cfg, DictConfig):
        raise ConfigError(f"config file '{path}' must contain a mapping of keys to values")
    cfg = merge_structured(schema, file_cfg, parse_overrides(overrides))
    check_fields(cfg)
    validate = getattr(cfg, "validate", None)
    if callable(validate):
        validate()
    return cfg
