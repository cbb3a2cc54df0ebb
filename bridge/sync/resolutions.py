"""What ``conflicts resolve ID --take ...`` means for each kind of entry, checked before anything is stored.

- edit, first-sight: ``left`` / ``right`` take that side's value, ``value=`` a value of your own (it must be
  a valid value of the field); the next sync writes it to both sides.
- cannot-represent: ``--take <the side that holds the value>`` accepts the loss for that value: the other side
  does without it (it keeps its own value; a new record gets the field empty) until the value changes.
  ``value=`` gives a value the side can hold instead, checked with that side's own check; the next sync
  writes it there (the other side keeps its value).
- ambiguous-match: ``value={"left": ID, "right": ID}`` links those two records (the next sync merges them).
- duplicate: ``value=keep`` keeps the record as one of its own (the next sync copies it to the other side);
  otherwise delete one of the copies on the system, and the entry closes by itself.
- delete-vs-modify, deleted and decisions by policy are logged as decided: there is nothing to resolve.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.errors import ConfigError, Unrepresentable
from bridge.model import Case, Plan, Result
from bridge.sync.fieldpath import PathError, get_path, root, set_path
from bridge.sync.merge import Side
from mappings.tables import Conflict

MODELS: dict[str, type[BaseModel]] = {"case": Case, "plan": Plan, "result": Result}
#: a minimal valid record per entity, to check a value of one field in
_BLANK: dict[str, dict[str, Any]] = {
    "case": {"title": "x"},
    "plan": {"name": "x"},
    "result": {"case_id": "1", "status": "passed"},
}

Check = Callable[[Side, BaseModel], list[Unrepresentable]]


@dataclass(frozen=True)
class Decision:
    resolution: str
    value: Any
    #: False: the next sync acts on it (and marks it applied); True: nothing is left to do
    applied: bool
    says: str


def parse_take(take: str) -> tuple[str, Any]:
    if take in ("left", "right"):
        return take, None
    if take.startswith("value="):
        raw = take[len("value=") :]
        try:
            return "value", json.loads(raw)
        except json.JSONDecodeError:
            return "value", raw
    raise ConfigError(f"--take {take!r}: expected left, right or value=<JSON or text>")


def decide(entry: Conflict, take: str, names: Mapping[Side, str], check: Check | None = None) -> Decision:
    """The decision ``take`` makes on ``entry``, or a ConfigError saying why it cannot be taken."""
    if entry.resolved_at is not None:
        raise ConfigError(f"conflict {entry.id} is resolved already ({entry.resolution})")
    how, value = parse_take(take)
    if entry.kind in ("edit", "first-sight") and entry.field:
        if how != "value":
            value = entry.left_value if how == "left" else entry.right_value
        else:
            value = _valid_field_value(entry.entity, entry.field, value)
        return Decision(how, value, False, f"the next sync of job {entry.job} writes it to both sides")
    if entry.kind == "cannot-represent":
        return _cannot_represent(entry, how, value, names, check)
    if entry.kind == "ambiguous-match":
        return _ambiguous(entry, how, value, names)
    if entry.kind == "duplicate":
        if how == "value" and value == "keep":
            return Decision("keep", None, True, f"the next sync of job {entry.job} copies it as a record of its own")
        raise ConfigError(
            f"conflict {entry.id} is a duplicate: delete one of the copies on the system (the entry then closes "
            "by itself), or keep this one as a record of its own with --take value=keep"
        )
    raise ConfigError(f"conflict {entry.id} ({entry.kind}) has nothing to resolve")


def _cannot_represent(
    entry: Conflict, how: str, value: Any, names: Mapping[Side, str], check: Check | None
) -> Decision:
    side: Side | None = entry.side  # type: ignore[assignment]
    if side is None or entry.field is None:
        raise ConfigError(
            f"conflict {entry.id} was logged by an older release without the record it is about",
            hint="Run the job's sync once: it logs the entry again, and that one can be resolved.",
        )
    holder: Side = "right" if side == "left" else "left"
    if how == holder:
        return Decision(
            "accepted", None, True, f"{names[side]} does without this value of {entry.field} until it changes"
        )
    if how != "value":
        raise ConfigError(
            f"conflict {entry.id}: {names[side]} cannot hold the {entry.field} of {names[holder]}; take {holder} "
            f"to accept that loss, or give a value {names[side]} can hold with --take value=..."
        )
    if not isinstance(entry.attempt, dict):
        raise ConfigError(
            f"conflict {entry.id} has no record to check a value in",
            hint="Run the job's sync once: it logs the entry again with the record, and that one can be resolved.",
        )
    model = MODELS[entry.entity]
    try:
        record = model.model_validate(set_path(entry.attempt, entry.field, value))
    except (ValidationError, PathError) as exc:
        raise ConfigError(_invalid(entry.entity, entry.field, value, exc)) from None
    problems = [p for p in (check(side, record) if check else []) if root(p.field) == root(entry.field)]
    if problems:
        raise ConfigError(
            f"conflict {entry.id}: {names[side]} cannot hold that value either: "
            + "; ".join(dict.fromkeys(p.reason for p in problems))
        )
    normalized = get_path(record.model_dump(mode="json"), entry.field)
    return Decision("value", normalized, True, f"the next sync of job {entry.job} writes it to {names[side]}")


def _ambiguous(entry: Conflict, how: str, value: Any, names: Mapping[Side, str]) -> Decision:
    lefts, rights = [str(i) for i in entry.left_value or []], [str(i) for i in entry.right_value or []]
    pick = value if how == "value" and isinstance(value, dict) else {}
    lid, rid = str(pick.get("left", "")), str(pick.get("right", ""))
    if lid not in lefts or rid not in rights:
        raise ConfigError(
            f"conflict {entry.id}: name the two records to link, one of {names['left']} {lefts} and one of "
            f'{names["right"]} {rights}: --take \'value={{"left": "{(lefts or ["ID"])[0]}", "right": '
            f'"{(rights or ["ID"])[0]}"}}\''
        )
    return Decision("linked", {"left": lid, "right": rid}, False, f"the next sync of job {entry.job} links them")


def _valid_field_value(entity: str, field: str, value: Any) -> Any:
    """``value`` as the field holds it (a folder path given as "A/B" becomes ["A", "B"]), or a clear error."""
    model = MODELS.get(entity)
    if model is None or field not in model.model_fields:
        return value  # a view field of the job's own (custom.x, plan members): taken as given
    try:
        record = model.model_validate({**_BLANK[entity], field: value})
    except ValidationError as exc:
        raise ConfigError(_invalid(entity, field, value, exc)) from None
    return record.model_dump(mode="json")[field]


def _invalid(entity: str, field: str, value: Any, exc: Exception) -> str:
    if root(field) == "folder":
        return (
            f"value={json.dumps(value)} is no folder path: give one such as value=Checkout/Search "
            'or value=\'["Checkout", "Search"]\''
        )
    first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
    return f"value={json.dumps(value)} is not a valid {entity} {field}: {first}"
