"""Registries: YAML names -> factories (Composer classes mostly), with kwargs checked against the signature.

A YAML section names a factory and gives keyword arguments. The accepted keys, their types, which are
required, and which are Composer time strings all come from the factory's own signature, so a registry
entry is just ``"name": FactoryClass``. Arguments the recipe supplies itself (the model's parameters,
the MLM masker, ...) are ``injected`` and cannot be set from YAML.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib.util
import inspect
import types
import typing
from functools import lru_cache
from typing import Any, Callable, Dict, List, Mapping, Optional

from omegaconf import DictConfig, OmegaConf

from mosaicbert.did_you_mean import did_you_mean

from .loading import ConfigError, check_fields, merge_structured

_PRIMITIVES = (bool, int, float, str)


class Registry:
    """Named factories of one kind (``"optimizer"``, ``"callback"``, ...)."""

    def __init__(self, kind: str, entries: Mapping[str, Callable[..., Any]], *,
                 injected: tuple[str, ...] = (), requires: Mapping[str, str | tuple[str, str]] | None = None):
        """``requires``: entry name -> the module it imports, or (module, pip package) when their names differ."""
        self.kind = kind
        self.entries = dict(entries)
        self.injected = frozenset(injected)
        self.requires = dict(requires or {})

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def arguments(self, name: str) -> set[str] | None:
        """The keyword arguments entry ``name`` takes (None: unknown name, or any keyword)."""
        factory = self.entries.get(name)
        if factory is None:
            return None
        parameters = inspect.signature(factory).parameters.values()
        if any(p.kind == p.VAR_KEYWORD for p in parameters):
            return None
        return {p.name for p in parameters} - self.injected

    def parse_one(self, section: Any, key: str) -> tuple[str, dict[str, Any]]:
        """Validate ``{name: ..., **kwargs}``; return the name and the given, typed kwargs."""
        section = _plain(section, key)
        if "name" not in section:
            raise ConfigError(f"config key '{key}.name': a value is required (one of: {', '.join(self.entries)})")
        kwargs = dict(section)
        name = str(kwargs.pop("name"))
        return name, self._parse_kwargs(name, kwargs, f"{key}.name", key)

    def parse_many(self, section: Any, key: str) -> list[tuple[str, dict[str, Any]]]:
        """Validate ``{name: kwargs, ...}``; return ``(name, typed kwargs)`` pairs. ``name: false`` turns off an
        entry a recipe turns on (``algorithms.domain_upsampling=false``); ``name: {}`` or ``name:`` keeps defaults."""
        section = _plain(section, key)
        return [(name, self._parse_kwargs(name, _plain(kwargs or {}, f"{key}.{name}"), f"{key}.{name}",
                                          f"{key}.{name}")) for name, kwargs in section.items() if kwargs is not False]

    def build_one(self, section: Any, key: str, **injected: Any) -> Any:
        """Construct the factory named in ``section`` (see :meth:`parse_one`)."""
        name, kwargs = self.parse_one(section, key)
        return self._build(name, kwargs, key, injected)

    def build_many(self, section: Any, key: str, **injected: Any) -> list[Any]:
        """Construct every factory named in ``section`` (see :meth:`parse_many`)."""
        return [self._build(name, kwargs, f"{key}.{name}", injected)
                for name, kwargs in self.parse_many(section, key)]

    def _parse_kwargs(self, name: str, kwargs: dict[str, Any], name_key: str, key: str) -> dict[str, Any]:
        if name not in self.entries:
            raise ConfigError(f"config key '{name_key}': unknown {self.kind} {name!r}{did_you_mean(name, self.entries)}"
                              f"; choose from: {', '.join(self.entries)}")
        required = self.requires.get(name)
        module, package = (required, required) if isinstance(required, str) else required or (None, None)
        if module and importlib.util.find_spec(module) is None:
            raise ConfigError(f"config key '{key}': {self.kind} {name!r} needs the package '{package}' "
                              f"(pip install {package})")
        schema = _kwargs_schema(self.entries[name], self.injected)
        typed = merge_structured(schema, kwargs, prefix=f"{key}.")
        check_fields(typed, prefix=f"{key}.")
        tuples = {f.name for f in dataclasses.fields(schema) if f.metadata.get("tuple")}
        return {k: tuple(getattr(typed, k)) if k in tuples else getattr(typed, k) for k in kwargs}

    def _build(self, name: str, kwargs: dict[str, Any], key: str, injected: dict[str, Any]) -> Any:
        factory = self.entries[name]
        accepted = inspect.signature(factory).parameters
        context = {k: v for k, v in injected.items() if k in accepted}
        try:
            return factory(**context, **kwargs)
        except ValueError as err:
            raise ConfigError(f"config key '{key}': {err}") from None


def _plain(section: Any, key: str) -> dict[str, Any]:
    if isinstance(section, DictConfig):
        section = OmegaConf.to_container(section, resolve=True)
    if not isinstance(section, Mapping):
        raise ConfigError(f"config key '{key}': expected a mapping, got {section!r}")
    return dict(section)


@lru_cache(maxsize=None)
def _kwargs_schema(factory: Callable[..., Any], injected: frozenset[str]) -> type:
    """A dataclass of the factory's keyword arguments, typed for omegaconf (unknown types become ``Any``)."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # annotations naming types that are not importable here: fall back to Any
        hints = {}
    fields = []
    for param in inspect.signature(factory).parameters.values():
        if param.name in injected or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation, metadata = _omegaconf_type(hints.get(param.name, Any))
        if param.default is param.empty:
            spec = dataclasses.field(metadata=metadata)
        else:
            annotation = Optional[annotation]
            spec = dataclasses.field(default=None, metadata=metadata)
        fields.append((param.name, annotation, spec))
    return dataclasses.make_dataclass(f"{getattr(factory, '__name__', 'factory')}Arguments", fields, kw_only=True)


def _omegaconf_type(hint: Any) -> tuple[Any, dict[str, Any]]:
    """Map a signature annotation to an omegaconf-supported type plus field metadata."""
    from composer.core import Time

    if hint is Time:
        return str, {"time": True}
    if hint in _PRIMITIVES:
        return hint, {}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if Time in members:
            return str, {"time": True}
        mapped = {_omegaconf_type(a)[0] for a in members} - {Any}
        if mapped and mapped <= {int, float}:
            return (float if float in mapped else int), {}
        return (mapped.pop() if len(mapped) == 1 else Any), {}
    if origin in (list, tuple, typing.Sequence, List) or hint in (list, tuple):
        item = _omegaconf_type(args[0])[0] if args and args[0] is not Ellipsis else Any
        return List[item if item in _PRIMITIVES else Any], {"tuple": origin is tuple or hint is tuple}
    if origin in (dict, typing.Mapping, Dict) or hint is dict:
        return Dict[str, Any], {}
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        return str, {}
    return Any, {}
