"""First-sync matching of records nobody has linked yet. Pure: no I/O.

Stable keys first (SYNC-NOTES): the bridge's own marker, then the automation key, then folder path + title
(plans: name). A key shared by several records on one side is ambiguous: those records are reported, never
guessed at, and not created either (creating them would make duplicates).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bridge.model import Case, Plan, Record
from bridge.sync.markers import marker_for
from bridge.sync.unchanged import Packed

R = TypeVar("R", bound=Record)


@dataclass
class Ambiguity:
    key: str
    left_ids: list[str]
    right_ids: list[str]


@dataclass
class MatchResult(Generic[R]):
    pairs: list[tuple[R, R, str]] = field(default_factory=list)  # (left, right, matched by)
    left_only: list[R] = field(default_factory=list)
    right_only: list[R] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)


def _case_keys(record: Record) -> list[tuple[str, Callable[[Record], Hashable | None]]]:
    # a listing hands cases over packed (bridge.sync.unchanged.Packed): the keys are readable on both
    cases = (Case, Packed)
    if isinstance(record, cases):
        return [
            ("automation key", lambda r: r.automation_key if isinstance(r, cases) and r.automation_key else None),
            (
                "folder and title",
                lambda r: (tuple(p.casefold() for p in r.folder), r.title.casefold()) if isinstance(r, cases) else None,
            ),
        ]
    if isinstance(record, Plan):
        return [("name", lambda r: r.name.casefold() if isinstance(r, Plan) else None)]
    return []


def match_records(job: str, entity: str, left: Sequence[R], right: Sequence[R]) -> MatchResult[R]:
    result: MatchResult[R] = MatchResult()
    lpool = {r.id: r for r in left if r.id is not None}
    rpool = {r.id: r for r in right if r.id is not None}
    blocked_left: set[str] = set()
    blocked_right: set[str] = set()

    # 1. markers: a record the bridge created carries the marker derived from its source
    right_by_marker = {r.marker: r for r in rpool.values() if r.marker}
    left_by_marker = {r.marker: r for r in lpool.values() if r.marker}
    for lid in list(lpool):
        found = right_by_marker.get(marker_for(job, entity, "left", lid))
        if found is not None and found.id in rpool:
            result.pairs.append((lpool.pop(lid), rpool.pop(found.id), "marker"))  # type: ignore[arg-type]
    for rid in list(rpool):
        found = left_by_marker.get(marker_for(job, entity, "right", rid))
        if found is not None and found.id in lpool:
            result.pairs.append((lpool.pop(found.id), rpool.pop(rid), "marker"))  # type: ignore[arg-type]

    # 2. stable keys in order
    sample = next(iter(lpool.values()), None) or next(iter(rpool.values()), None)
    for label, key_of in _case_keys(sample) if sample is not None else []:
        lgroups: dict[Hashable, list[str]] = defaultdict(list)
        rgroups: dict[Hashable, list[str]] = defaultdict(list)
        for rid_, rec in lpool.items():
            if rid_ not in blocked_left and (k := key_of(rec)) is not None:
                lgroups[k].append(rid_)
        for rid_, rec in rpool.items():
            if rid_ not in blocked_right and (k := key_of(rec)) is not None:
                rgroups[k].append(rid_)
        for key in sorted(set(lgroups) & set(rgroups), key=str):
            lids, rids = lgroups[key], rgroups[key]
            if len(lids) == 1 and len(rids) == 1:
                result.pairs.append((lpool.pop(lids[0]), rpool.pop(rids[0]), label))
            else:
                result.ambiguous.append(Ambiguity(f"{label} {key!r}", sorted(lids), sorted(rids)))
                blocked_left.update(lids)
                blocked_right.update(rids)
    result.left_only = [r for rid_, r in lpool.items() if rid_ not in blocked_left]
    result.right_only = [r for rid_, r in rpool.items() if rid_ not in blocked_right]
    return result
