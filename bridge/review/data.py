"""What the review pages and ``conflicts list`` show about a conflict besides the store's own fields: the
record's title on each side, the systems' configured names, links to the record, and steps compared step
by step. Pure functions over the store's rows and the config."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.config import Config
    from mappings.store import Store
    from mappings.tables import Conflict


@dataclass(frozen=True)
class Titles:
    left: str
    right: str


def titles(store: Store, c: Conflict) -> Titles:
    """The record's title on each side: the values in conflict when the title is the field, else the title
    both sides last agreed on (the link's base)."""
    if c.field == "title" and (isinstance(c.left_value, str) or isinstance(c.right_value, str)):
        return Titles(str(c.left_value or ""), str(c.right_value or ""))
    base: dict[str, Any] = {}
    if c.left_id is not None or c.right_id is not None:
        link = store.find_link(c.job, c.entity, left_id=c.left_id, right_id=c.right_id)
        base = link.base if link is not None else {}
    agreed = base.get("title") or base.get("name") or ""
    if not agreed:
        # a record not copied yet has no link: the record as it was to be written still has its title
        for value in (c.attempt, c.left_value, c.right_value, c.base_value):
            if isinstance(value, dict) and (value.get("title") or value.get("name")):
                agreed = value.get("title") or value.get("name")
                break
    # a side without the record (not copied there yet) has no title to show
    return Titles(
        str(agreed) if c.left_id is not None or c.right_id is None else "",
        str(agreed) if c.right_id is not None or c.left_id is None else "",
    )


def system_label(cfg: Config, name: str) -> str:
    """A system as people know it: its configured name and kind (``qa-testrail (testrail)``)."""
    system = cfg.systems.get(name)
    return f"{name} ({system.kind})" if system is not None and system.kind != name else name


#: where a record is shown in each system's web UI; {url} is the configured base URL
RECORD_URLS: dict[tuple[str, str], str] = {
    ("testrail", "case"): "{url}/index.php?/cases/view/{id}",
    ("testrail", "plan"): "{url}/index.php?/plans/view/{id}",
    ("testrail", "folder"): "{url}/index.php?/suites/view/{id}",
    ("testplanit", "case"): "{url}/projects/repository/{project}/{id}",
    ("testplanit", "plan"): "{url}/projects/runs/{project}/{id}",
}


def record_url(cfg: Config, system: str, entity: str, record_id: str | None) -> str | None:
    """A link to the record on its system, or to the system itself when its pages' paths are unknown."""
    settings = cfg.systems.get(system)
    if settings is None or record_id is None:
        return None
    base = settings.url.rstrip("/")
    pattern = RECORD_URLS.get((settings.kind, entity))
    if pattern is None:
        return base
    project = getattr(settings, "project_id", None) or getattr(settings, "project", "") or ""
    return pattern.format(url=base, id=record_id, project=project)


def pretty(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def step_rows(base: Any, left: Any, right: Any) -> list[dict[str, Any]]:
    """Steps side by side, one row per step position: each side's step and whether it differs from the base."""
    sides = [_steps(base), _steps(left), _steps(right)]
    rows = []
    for i in range(max(len(s) for s in sides)):
        b, lv, rv = (s[i] if i < len(s) else None for s in sides)
        rows.append(
            {
                "n": i + 1,
                "base": b,
                "left": lv,
                "right": rv,
                "left_changed": lv != b,
                "right_changed": rv != b,
                "diff": _diff(lv, rv),
            }
        )
    return rows


def is_steps(c: Conflict) -> bool:
    return c.field == "steps" or any(
        isinstance(v, list) and v and isinstance(v[0], dict) for v in (c.left_value, c.right_value)
    )


def _steps(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    out = []
    for step in value:
        if isinstance(step, dict):
            out.append({"action": str(step.get("action") or ""), "expected": str(step.get("expected") or "")})
        else:
            out.append({"action": str(step), "expected": ""})
    return out


def _diff(left: dict[str, str] | None, right: dict[str, str] | None) -> list[str]:
    """The left step against the right one, as unified diff lines without the header."""
    a = [f"{k}: {v}" for k, v in (left or {}).items()]
    b = [f"{k}: {v}" for k, v in (right or {}).items()]
    return [line for line in difflib.ndiff(a, b) if not line.startswith("?")]
