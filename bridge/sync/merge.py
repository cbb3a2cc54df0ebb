"""Three-way merge of one linked pair, field by field, against the last agreed state. Pure: no I/O.

Per field (SYNC-NOTES): changed on neither side -> nothing; on one side -> copy to the other; on both to the
same value -> advance the agreed state ("false conflict"); on both differently -> a conflict, decided by the
job's policy or logged for a person. A side *changed* a field when the field's current hash differs from the
hash stored for that side after the last run, so a system that stores a value slightly differently (fewer
priorities, re-formatted HTML) does not look changed on the next run (no echoes).

Set-valued fields (tags, requirements, plan membership) merge per element: additions and removals from both
sides are combined, which never needs a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bridge.text import content_hash

Side = Literal["left", "right"]
PolicyName = Literal["manual", "left-wins", "right-wins", "newest-wins"]
Direction = Literal["both", "left-to-right", "right-to-left"]

#: fields merged per element rather than as a whole
SET_FIELDS = frozenset({"tags", "requirements", "cases"})


@dataclass(frozen=True)
class Policy:
    name: PolicyName = "manual"
    owners: Mapping[str, Side] = field(default_factory=dict)
    direction: Direction = "both"
    tolerance: timedelta = timedelta(minutes=5)
    #: one-way jobs: matched records that differ at first sight take the source's values (a migration's
    #: ``--overwrite``); without it they are conflicts for a person like in every other job
    overwrite: bool = False

    def may_write(self, side: Side) -> bool:
        if self.direction == "both":
            return True
        return side == ("right" if self.direction == "left-to-right" else "left")

    @property
    def source(self) -> Side | None:
        return {"left-to-right": "left", "right-to-left": "right"}.get(self.direction)  # type: ignore[return-value]


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    left: Any
    right: Any
    #: None: left for a person (neither side written). Else how the policy decided: "policy:left-wins" ...
    resolution: str | None = None
    winner: Side | None = None
    first_sight: bool = False


@dataclass
class MergeOutcome:
    to_left: dict[str, Any] = field(default_factory=dict)
    to_right: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    conflicts: list[FieldConflict] = field(default_factory=list)
    #: fields whose value on that side is now agreed (their stored hash is refreshed after the writes)
    accept_left: set[str] = field(default_factory=set)
    accept_right: set[str] = field(default_factory=set)
    #: fields with no open conflict any more (older conflicts on them can be closed)
    settled: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.to_left or self.to_right)


def field_hash(value: Any) -> str:
    return content_hash(value)


def hashes(content: Mapping[str, Any]) -> dict[str, str]:
    return {name: field_hash(value) for name, value in content.items()}


def _text_shaped(value: Any) -> bool:
    """None, a str, or a list of str or of dicts of str to str: a value that only an equal value of the same
    JSON equals (``1 == True == 1.0`` writes three ways; a str equals nothing but a str)."""
    if value is None or value.__class__ is str:
        return True
    if value.__class__ is not list:
        return False
    for item in value:
        if item.__class__ is dict:
            if not all(k.__class__ is str and v.__class__ is str for k, v in item.items()):
                return False
        elif item.__class__ is not str:
            return False
    return True


def hashes_like(
    content: Mapping[str, Any], known: Mapping[str, Any], known_hashes: Mapping[str, str]
) -> dict[str, str]:
    """``hashes(content)``, taking the hash ``known_hashes`` has for a field whose value in ``content`` is that of
    ``known``: a created record read back mostly holds what was sent, and comparing is a tenth of hashing."""
    out: dict[str, str] = {}
    for name, value in content.items():
        hashed = known_hashes.get(name)
        if hashed is not None and name in known and _text_shaped(value) and value == known[name]:
            out[name] = hashed
        else:
            out[name] = field_hash(value)
    return out


def _equal(a: Any, b: Any) -> bool:
    return field_hash(a) == field_hash(b)


def merge_record(
    base: Mapping[str, Any] | None,
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    policy: Policy,
    *,
    left_hashes: Mapping[str, str] | None = None,
    right_hashes: Mapping[str, str] | None = None,
    left_time: datetime | None = None,
    right_time: datetime | None = None,
    forced: Mapping[str, Any] | None = None,
) -> MergeOutcome:
    """Merge one pair. ``base`` None means first sight (a pair matched, never agreed).

    ``forced`` carries values a person chose for conflicted fields (``conflicts resolve``): they are written
    to whichever side differs and become the agreed value.
    """
    out = MergeOutcome()
    forced = forced or {}
    first_sight = base is None
    base = dict(base or {})
    fields = sorted(set(left) | set(right))
    for name in fields:
        lv, rv = left.get(name), right.get(name)
        bv = base.get(name)
        if name in forced:
            _force(out, name, forced[name], lv, rv, policy)
            continue
        if _equal(lv, rv):
            out.base[name] = lv
            out.accept_left.add(name)
            out.accept_right.add(name)
            out.settled.add(name)
            continue
        if first_sight and (_empty(lv) or _empty(rv)):
            # one side has nothing there yet: filling the gap loses nothing, so it is not a conflict
            _propagate(out, name, rv if _empty(lv) else lv, "right" if _empty(lv) else "left", policy, other_value=None)
            continue
        if first_sight:
            _conflict(out, name, None, lv, rv, policy, left_time, right_time, first_sight=True)
            continue
        l_changed = _changed(name, lv, bv, left_hashes)
        r_changed = _changed(name, rv, bv, right_hashes)
        if l_changed and not r_changed:
            _propagate(out, name, lv, "left", policy, other_value=rv)
        elif r_changed and not l_changed:
            _propagate(out, name, rv, "right", policy, other_value=lv)
        elif not l_changed and not r_changed:
            # both sides still hold what they held when last agreed, only represented differently
            # (a lossy system): nothing to do, and nothing to re-detect next time
            out.base[name] = bv
            out.accept_left.add(name)
            out.accept_right.add(name)
            out.settled.add(name)
        elif name in SET_FIELDS and isinstance(lv, list) and isinstance(rv, list):
            merged = _merge_sets(bv if isinstance(bv, list) else [], lv, rv)
            _write_both(out, name, merged, lv, rv, policy)
        else:
            _conflict(out, name, bv, lv, rv, policy, left_time, right_time, first_sight=False)
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _changed(name: str, value: Any, base_value: Any, side_hashes: Mapping[str, str] | None) -> bool:
    if side_hashes is not None and name in side_hashes:
        return field_hash(value) != side_hashes[name]
    return not _equal(value, base_value)


def _propagate(out: MergeOutcome, name: str, value: Any, changed: Side, policy: Policy, *, other_value: Any) -> None:
    target: Side = "right" if changed == "left" else "left"
    if policy.may_write(target):
        (out.to_right if target == "right" else out.to_left)[name] = value
        out.base[name] = value
        out.accept_left.add(name)
        out.accept_right.add(name)
        out.settled.add(name)
    else:
        # one-way job and the change is on the target side: leave the target's edit alone, and keep its
        # stored hash so that a later change on the source is seen as a conflict (never silently overwritten)
        if changed == "left":
            out.accept_right.add(name)
        else:
            out.accept_left.add(name)
        out.settled.add(name)


def _write_both(out: MergeOutcome, name: str, value: Any, lv: Any, rv: Any, policy: Policy) -> None:
    if not _equal(lv, value) and policy.may_write("left"):
        out.to_left[name] = value
    if not _equal(rv, value) and policy.may_write("right"):
        out.to_right[name] = value
    out.base[name] = value
    out.accept_left.add(name)
    out.accept_right.add(name)
    out.settled.add(name)


def _force(out: MergeOutcome, name: str, value: Any, lv: Any, rv: Any, policy: Policy) -> None:
    _write_both(out, name, value, lv, rv, policy)


def _merge_sets(base: list[Any], left: list[Any], right: list[Any]) -> list[Any]:
    b, lset, rset = set(map(str, base)), set(map(str, left)), set(map(str, right))
    merged = (b | (lset - b) | (rset - b)) - (b - lset) - (b - rset)
    return sorted(merged)


def _winner(
    name: str, policy: Policy, first_sight: bool, left_time: datetime | None, right_time: datetime | None
) -> tuple[Side | None, str | None]:
    if name in policy.owners:
        return policy.owners[name], f"owner:{policy.owners[name]}"
    if policy.source is not None and (not first_sight or policy.overwrite):
        return policy.source, "overwrite" if first_sight else f"one-way:{policy.direction}"
    if policy.name == "left-wins":
        return "left", "policy:left-wins"
    if policy.name == "right-wins":
        return "right", "policy:right-wins"
    if policy.name == "newest-wins" and not first_sight and left_time and right_time:
        if abs(left_time - right_time) > policy.tolerance:
            return ("left" if left_time > right_time else "right"), "policy:newest-wins"
    return None, None


def _conflict(
    out: MergeOutcome,
    name: str,
    bv: Any,
    lv: Any,
    rv: Any,
    policy: Policy,
    left_time: datetime | None,
    right_time: datetime | None,
    *,
    first_sight: bool,
) -> None:
    winner, how = _winner(name, policy, first_sight, left_time, right_time)
    out.conflicts.append(FieldConflict(name, bv, lv, rv, resolution=how, winner=winner, first_sight=first_sight))
    if winner is None:
        return  # manual: neither side written, agreed state and hashes unchanged for this field
    value = lv if winner == "left" else rv
    _write_both(out, name, value, lv, rv, policy)
