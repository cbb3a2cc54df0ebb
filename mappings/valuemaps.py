"""Declarative value maps between each system's native values and the normalized vocabularies.

Defaults live in ``mappings/defaults/<kind>.toml``; a system's ``value_maps`` table in the config (and a
job's ``value_maps.<system>`` table) overrides single entries. Each map is ``native -> normalized``; the
reverse direction takes the entry listed in ``[<map>.to_native]`` when present, else the first native
value mapping to that normalized value. A value with no mapping is *not* guessed: lookups return None
and the caller reports it as "cannot represent".
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from bridge.errors import ConfigError
from bridge.model import CaseType, Priority, Status

#: the normalized vocabulary of each map, for validating defaults and overrides
VOCABULARIES: dict[str, frozenset[str]] = {
    "status": frozenset(s.value for s in Status),
    "priority": frozenset(p.value for p in Priority),
    "type": frozenset(t.value for t in CaseType),
}


@dataclass
class ValueMap:
    name: str
    to_normal: dict[str, str] = field(default_factory=dict)
    preferred_native: dict[str, str] = field(default_factory=dict)
    #: native values as written in the maps (lookups ignore case; writes must use the system's spelling)
    spelling: dict[str, str] = field(default_factory=dict)

    def normal(self, native: Any) -> str | None:
        return self.to_normal.get(_key(native))

    def native(self, normal: str | None) -> str | None:
        if normal is None:
            return None
        if normal in self.preferred_native:
            return self.preferred_native[normal]
        for native, value in self.to_normal.items():
            if value == normal:
                return self.spelling.get(native, native)
        return None


@dataclass
class ValueMaps:
    kind: str
    maps: dict[str, ValueMap] = field(default_factory=dict)

    def get(self, name: str) -> ValueMap:
        # (not setdefault: that built an empty map, three dicts, on every lookup of every case read)
        found = self.maps.get(name)
        if found is None:
            found = self.maps[name] = ValueMap(name)
        return found

    def normal(self, name: str, native: Any) -> str | None:
        return self.get(name).normal(native)

    def native(self, name: str, normal: str | None) -> str | None:
        return self.get(name).native(normal)


def _key(value: Any) -> str:
    return str(value).strip().lower() if isinstance(value, str) else str(value)


def default_table(kind: str) -> dict[str, Any]:
    try:
        text = resources.files("mappings").joinpath("defaults", f"{kind}.toml").read_text("utf-8")
    except FileNotFoundError:
        return {}
    return tomllib.loads(text)


def load_value_maps(kind: str, *overrides: Mapping[str, Mapping[str, Any]], source: str = "config") -> ValueMaps:
    """The default maps of ``kind`` with each override table applied in order (later wins)."""
    maps = ValueMaps(kind)
    for table, where in [(default_table(kind), f"mappings/defaults/{kind}.toml")] + [
        (dict(o), source) for o in overrides
    ]:
        for name, entries in table.items():
            if not isinstance(entries, Mapping):
                raise ConfigError(f"{where}: value map {name!r} must be a table of native = normalized entries")
            vm = maps.get(name)
            for native, normal in entries.items():
                if native == "to_native" and isinstance(normal, Mapping):
                    for n_value, n_native in normal.items():
                        _check(name, n_value, where)
                        vm.preferred_native[str(n_value)] = str(n_native)
                    continue
                _check(name, normal, where, native)
                vm.to_normal[_key(native)] = str(normal)
                vm.spelling[_key(native)] = str(native)
    return maps


def _check(name: str, normal: Any, where: str, native: Any = None) -> None:
    vocab = VOCABULARIES.get(name)
    if vocab is not None and str(normal) not in vocab:
        what = f"{name}.{native}" if native is not None else name
        raise ConfigError(
            f"{where}: value map {what} = {normal!r} is not a normalized {name}; "
            f"expected one of: {', '.join(sorted(vocab))}"
        )
