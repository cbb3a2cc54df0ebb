"""Field paths as the adapters' checks name them: ``title``, ``folder``, ``steps[2].action`` (1-based), ``custom.x``.

Pure helpers over a record's ``model_dump()``, used to find the value a side cannot hold and to put a value a
person chose in its place.
"""

from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")


class PathError(ValueError):
    """A path that does not name one value of the record."""


def root(path: str) -> str:
    """The top-level field a path is in (``steps[2].action`` -> ``steps``)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _parts(path: str) -> list[tuple[str, int | None]]:
    parts: list[tuple[str, int | None]] = []
    for piece in path.split("."):
        m = _PART.fullmatch(piece)
        if m is None:
            raise PathError(f"{path!r} is not a field path")
        parts.append((m.group(1), int(m.group(2)) if m.group(2) else None))
    return parts


def get_path(data: dict[str, Any], path: str) -> Any:
    """The value at ``path`` in ``data``; PathError when the path does not lead to one value."""
    node: Any = data
    for name, index in _parts(path):
        if not isinstance(node, dict) or name not in node:
            raise PathError(f"no field {path!r}")
        node = node[name]
        if index is not None:
            if not isinstance(node, list) or not 1 <= index <= len(node):
                raise PathError(f"no field {path!r}")
            node = node[index - 1]
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at ``path`` (which must exist, but for a missing last dict key)."""
    import copy

    out = copy.deepcopy(data)
    parts = _parts(path)
    node: Any = out
    for i, (name, index) in enumerate(parts):
        last = i == len(parts) - 1
        if not isinstance(node, dict):
            raise PathError(f"no field {path!r}")
        if last and index is None:
            node[name] = value
            return out
        if name not in node:
            raise PathError(f"no field {path!r}")
        if index is None:
            node = node[name]
            continue
        items = node[name]
        if not isinstance(items, list) or not 1 <= index <= len(items):
            raise PathError(f"no field {path!r}")
        if last:
            items[index - 1] = value
            return out
        node = items[index - 1]
    return out
