"""Runs one job: reads both sides, matches, merges, writes, and keeps the store as the status table.

Order of entities: folders, cases, plans (their membership needs the case links), results (need plan links).

Safety rules this module implements (SYNC-NOTES):
- first sight matches before creating; ambiguous matches are logged, never guessed;
- a create is preceded by a committed write intent carrying the marker the record will hold; an intent left
  open by a crash is settled at the start of the next run by finding the marker (adopt) or abandoning it;
- the base snapshot and per-side hashes are committed only after the remote write succeeded;
- a record missing from a listing is only deleted after a direct lookup confirms it; a modification on the
  other side beats the deletion; a mass deletion stops the job before anything is deleted;
- values a side cannot hold are logged as "cannot-represent" conflicts and that write is not made.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.base import Adapter
from bridge.config import Config, Job, parse_duration
from bridge.errors import BridgeError, CannotRepresent, RemoteError, TransportError, Unrepresentable
from bridge.model import Case, Entity, Plan, Result, Status
from bridge.sync.markers import marker_for
from bridge.sync.match import MatchResult, match_records
from bridge.sync.merge import FieldConflict, MergeOutcome, Policy, Side, hashes, merge_record
from bridge.sync.views import CaseFields, apply_plan, plan_for_create, plan_view
from bridge.text import stable_json
from mappings.store import Store
from mappings.tables import Conflict, Intent, Link, ResultCopy, as_utc

log = logging.getLogger("bridge.sync")
SIDES: tuple[Side, Side] = ("left", "right")

#: below this many vanished records the mass-deletion guard does not trip (one deleted case of three is
#: a person's decision, not a broken listing)
MASS_DELETE_MIN = 3


class MassDeletionStop(BridgeError):
    """Too many linked records vanished at once: the job stops before deleting anything."""


@dataclass
class PlannedAction:
    entity: str
    action: str  # create | update | delete | unlink | adopt | conflict | restore | link
    system: str
    record: str
    detail: str = ""


@dataclass
class SyncReport:
    job: str
    left: str
    right: str
    dry_run: bool
    counts: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    actions: list[PlannedAction] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_id: int | None = None
    status: str = "running"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, system: str, entity: str, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[(system, entity)][what] += n

    def act(self, action: PlannedAction) -> None:
        with self._lock:
            self.actions.append(action)

    def error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def total(self, what: str) -> int:
        return sum(c[what] for c in self.counts.values())

    def as_counts(self) -> dict[str, Any]:
        return {f"{system}/{entity}": dict(c) for (system, entity), c in sorted(self.counts.items())}


ProgressHook = Callable[[str, int | None], Callable[[int], None]]


def _no_progress(_label: str, _total: int | None) -> Callable[[int], None]:
    return lambda _n: None


class JobRunner:
    def __init__(
        self,
        config: Config,
        job: Job,
        store: Store,
        *,
        adapters: dict[str, Adapter],
        dry_run: bool = False,
        workers: int = 4,
        progress: ProgressHook = _no_progress,
        kind: str = "sync",
    ) -> None:
        self.config = config
        self.job = job
        self.store = store
        self.left = adapters[job.left]
        self.right = adapters[job.right]
        self.dry_run = dry_run
        self.workers = max(1, workers)
        self.progress = progress
        self.kind = kind
        self.policy = Policy(
            name=job.conflict_policy,
            owners=dict(job.field_owners),
            direction=job.direction,
            tolerance=job.tolerance(),
        )
        self.case_fields = CaseFields.for_job(
            self.left.capabilities.case_fields, self.right.capabilities.case_fields, job.custom_fields
        )
        self.plan_fields = tuple(
            f
            for f in ("name", "description", "start_date", "end_date", "milestone", "state")
            if _holds(self.left.capabilities.plan_fields, f) and _holds(self.right.capabilities.plan_fields, f)
        )
        self.report = SyncReport(job.name, job.left, job.right, dry_run)
        if Entity.CASE in job.entities:
            # said on every run: a field one side has no place for is not merged, and nobody should have to
            # find that out by missing it
            for side in SIDES:
                held = self.side(side).capabilities.case_fields
                lacking = [f for f in Case.content_fields() if f != "custom" and not _holds(held, f)]
                if lacking:
                    self.report.notes.append(
                        f"case fields {self.name(side)} cannot hold, not synced by this job: {', '.join(lacking)}"
                    )
        self._open_conflicts: dict[str, list[Conflict]] = defaultdict(list)
        self._resolutions: dict[str, list[Conflict]] = defaultdict(list)
        self._case_maps: dict[str, dict[str, str]] | None = None
        self._listed_cases: dict[Side, dict[str, Case]] = {}
        #: (side, newest change seen, when read in full or None) per side, saved when the run ends cleanly
        self._pending_marks: list[tuple[Side, datetime, datetime | None]] = []
        self._mark_keys: dict[Side, str] = {}

    # ----------------------------------------------------------------------------------------- helpers
    def side(self, side: Side) -> Adapter:
        return self.left if side == "left" else self.right

    def name(self, side: Side) -> str:
        return self.job.left if side == "left" else self.job.right

    def run(self) -> SyncReport:
        run = None if self.dry_run else self.store.start_run(self.job.name, kind=self.kind)
        self.report.run_id = run.id if run else None
        status = "ok"
        try:
            entities = set(self.job.entities)
            if Entity.FOLDER in entities:
                self.sync_folders()
            if Entity.CASE in entities:
                self.sync_cases()
            if Entity.PLAN in entities:
                self.sync_plans()
                if self.job.perftest:
                    self.sync_perftest_tasks()
            if Entity.RESULT in entities:
                self.sync_results()
            if self.report.errors:
                status = "errors"
            elif not self.dry_run:
                # only now: a mark moved past changes a failed write left behind would lose them for good
                for side, newest, full_read_at in self._pending_marks:
                    self.store.save_read_mark(
                        self.job.name, side, self._read_mark_key(side), watermark=newest, full_read_at=full_read_at
                    )
        except MassDeletionStop as exc:
            status = "aborted"
            self.report.error(str(exc))
        except BridgeError as exc:
            status = "failed"
            self.report.error(str(exc))
        except BaseException as exc:  # recorded, then re-raised (KeyboardInterrupt, SIGTERM -> SystemExit)
            status = "aborted"
            self.report.error(f"interrupted: {type(exc).__name__}")
            self.report.status = status
            if run is not None:
                self.store.finish_run(run, status=status, counts=self.report.as_counts(), errors=self.report.errors)
            raise
        self.report.status = status
        if run is not None:
            self.store.finish_run(run, status=status, counts=self.report.as_counts(), errors=self.report.errors)
        log.info(
            "job finished",
            extra={"job": self.job.name, "run_id": self.report.run_id, "status": status, "counts": _flat(self.report)},
        )
        return self.report

    def _parallel(self, label: str, items: Sequence[Any], fn: Callable[[Any], None]) -> None:
        if not items:
            return
        tick = self.progress(label, len(items))

        def guarded(item: Any) -> None:
            try:
                fn(item)
            except RemoteError as exc:
                self.report.error(str(exc))
            finally:
                tick(1)

        if self.workers == 1 or len(items) == 1:
            for item in items:
                guarded(item)
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"sync-{self.job.name}") as pool:
            list(pool.map(guarded, items))

    def _load_conflict_state(self, entity: str) -> None:
        self._open_conflicts = defaultdict(list)
        for c in self.store.conflicts(job=self.job.name, open_only=True):
            if c.entity == entity:
                self._open_conflicts[c.record].append(c)
        self._resolutions = defaultdict(list)
        for c in self.store.pending_resolutions(self.job.name, entity):
            self._resolutions[c.record].append(c)

    def _log_conflict(self, conflict: Conflict) -> None:
        conflict.run_id = self.report.run_id
        side_name = self.job.left if conflict.left_id else self.job.right
        self.report.count(side_name, conflict.entity, "conflicts")
        self.report.act(
            PlannedAction(conflict.entity, "conflict", "-", conflict.record, f"{conflict.kind} {conflict.field or ''}")
        )
        if not self.dry_run:
            self.store.log_conflict(conflict)

    def _cannot_represent(
        self, entity: str, record: str, problems: Sequence[Unrepresentable], target: Side, **ids: Any
    ) -> None:
        for p in problems:
            self._log_conflict(
                Conflict(
                    job=self.job.name,
                    entity=entity,
                    kind="cannot-represent",
                    record=record,
                    field=p.field,
                    left_value=_jsonable(p.value) if target == "right" else None,
                    right_value=_jsonable(p.value) if target == "left" else None,
                    message=f"{self.name(target)} cannot hold it: {p.reason}",
                    **ids,
                )
            )

    # ----------------------------------------------------------------------------------------- folders
    def sync_folders(self) -> None:
        if (
            Entity.FOLDER not in self.left.capabilities.entities
            or Entity.FOLDER not in self.right.capabilities.entities
        ):
            return
        paths: dict[Side, set[tuple[str, ...]]] = {}
        for side in ("left", "right"):
            paths[side] = {f.path for f in self.side(side).iter_folders() if self._in_scope_path(f.path)}  # type: ignore[arg-type]
        for source, target in (("left", "right"), ("right", "left")):
            if not self.policy.may_write(target):  # type: ignore[arg-type]
                continue
            missing = sorted(paths[source] - paths[target])  # type: ignore[index]
            for path in missing:
                self.report.act(PlannedAction("folder", "create", self.name(target), "/".join(path)))  # type: ignore[arg-type]
                if not self.dry_run:
                    try:
                        self.side(target).ensure_folder(path)  # type: ignore[arg-type]
                    except RemoteError as exc:
                        self.report.error(str(exc))
                        self.report.count(self.name(target), "folder", "errors")  # type: ignore[arg-type]
                        continue
                self.report.count(self.name(target), "folder", "created")  # type: ignore[arg-type]

    def _in_scope_path(self, path: Sequence[str]) -> bool:
        if not self.job.scope.folders:
            return True
        joined = "/".join(path)
        return any(joined == f.strip("/") or joined.startswith(f.strip("/") + "/") for f in self.job.scope.folders)

    # ------------------------------------------------------------------------------------------- cases
    def sync_cases(self) -> None:
        entity = Entity.CASE.value
        self._load_conflict_state(entity)
        links = [link for link in self.store.links(self.job.name, entity)]
        since: dict[Side, datetime | None] = {side: self._incremental_since(side) for side in SIDES}
        listed: dict[Side, dict[str, Case]] = {side: self._read_cases(side, since[side]) for side in SIDES}
        # A side read incrementally lacks its old unlinked records, and matching the other side's new records
        # against them is what keeps a first sight from becoming a duplicate: read it in full then.
        linked: dict[Side, set[str]] = {"left": {lk.left_id for lk in links}, "right": {lk.right_id for lk in links}}
        for side in SIDES:
            other = _other(side)
            if since[side] is not None and any(cid not in linked[other] for cid in listed[other]):
                log.info(
                    "new records on %s: reading %s in full to match them",
                    self.name(other),
                    self.name(side),
                    extra={"job": self.job.name},
                )
                since[side] = None
                listed[side] = self._read_cases(side, None)
        self._remember_read_marks(listed, since)
        self._listed_cases = listed
        self._settle_intents(entity, listed, links)
        links = [link for link in self.store.links(self.job.name, entity)]
        active = [link for link in links if link.state == "active"]
        # nothing is inferred missing from a side that listed only its changes
        present: dict[Side, Any] = {side: listed[side] if since[side] is None else _AllPresent() for side in SIDES}
        self._guard_mass_deletion(entity, active, present)

        pairs: list[tuple[Link, Case | None, Case | None]] = []
        for link in active:
            left, right = listed["left"].get(link.left_id), listed["right"].get(link.right_id)
            if (left is None and since["left"] is not None) or (right is None and since["right"] is not None):
                if not self._changed_since_base(link, left, right, since):
                    self.report.count(self.job.left, entity, "unchanged")
                    continue
            # a side that is None here is looked up directly (unchanged since the mark, or gone)
            pairs.append((link, left, right))
        self._parallel(f"{self.job.name}: linked cases", pairs, lambda p: self._sync_linked_case(*p))

        matched = self._match_unlinked(entity, listed, links)
        self._parallel(f"{self.job.name}: matched cases", matched.pairs, lambda p: self._first_sight_case(p[0], p[1]))
        creates: list[tuple[Side, Case]] = [("left", c) for c in matched.left_only] + [
            ("right", c) for c in matched.right_only
        ]
        creates = [(s, c) for s, c in creates if self.policy.may_write(_other(s))]
        self._parallel(f"{self.job.name}: new cases", creates, lambda sc: self._create_case(sc[0], sc[1]))

    def _read_cases(self, side: Side, since: datetime | None) -> dict[str, Case]:
        what = "changed cases" if since is not None else "cases"
        tick = self.progress(f"reading {self.name(side)} {what}", None)
        cases: dict[str, Case] = {}
        for case in self.side(side).iter_cases(since=since):
            if case.id is not None and self._in_scope_path(case.folder):
                cases[case.id] = case
                tick(1)
        return cases

    def _read_mark_key(self, side: Side) -> str:
        """Read marks hold for one scope and one folder tree: widening the scope must bring in old records, and
        renaming or moving a folder changes the path of cases whose own change time stays put. Either one
        makes a new key, hence a full read."""
        key = self._mark_keys.get(side)
        if key is None:
            paths = sorted("/".join(f.path) for f in self.side(side).iter_folders())
            scope = stable_json({"scope": sorted(self.job.scope.folders), "folders": paths})
            key = self._mark_keys[side] = "case@" + hashlib.sha256(scope.encode()).hexdigest()[:12]
        return key

    def _incremental_since(self, side: Side) -> datetime | None:
        """Where to start an incremental read of ``side``'s cases, or None for a full read."""
        every = self.job.full_read_every
        if every is None or self.job.perftest or not self.side(side).capabilities.incremental_cases:
            return None  # (the PerfTest option needs every case's tags, so it reads in full)
        mark = self.store.read_mark(self.job.name, side, self._read_mark_key(side))
        if mark is None or as_utc(mark.full_read_at) + parse_duration(every) <= _now():
            return None
        return as_utc(mark.watermark)

    def _remember_read_marks(self, listed: dict[Side, dict[str, Case]], since: dict[Side, datetime | None]) -> None:
        """Keep where this read ended; saved only by a run that ends without errors (see ``run``)."""
        self._pending_marks = []
        if self.job.full_read_every is None:
            return
        for side in SIDES:
            if not self.side(side).capabilities.incremental_cases:
                continue
            times = [as_utc(c.updated_at) for c in listed[side].values() if c.updated_at is not None]
            newest = max(times, default=since[side])
            if newest is not None:
                self._pending_marks.append((side, newest, _now() if since[side] is None else None))

    def _changed_since_base(
        self, link: Link, left: Case | None, right: Case | None, since: dict[Side, datetime | None]
    ) -> bool:
        """Whether a pair with a side unchanged since the read mark needs merging: the other side changed (or
        is gone from a full listing), or a person's resolution waits to be applied."""
        if self._resolutions.get(self._record_ref(link.left_id, link.right_id)):
            return True
        for side, case, stored in (("left", left, link.left_hashes), ("right", right, link.right_hashes)):
            if case is None:
                if since[side] is None:  # type: ignore[index]
                    return True  # missing from a full listing: the deletion check decides
                continue
            if hashes(self.case_fields.view(case, side)) != stored:  # type: ignore[arg-type]
                return True
        return False

    def _match_unlinked(self, entity: str, listed: dict[Side, dict[str, Any]], links: list[Link]) -> MatchResult[Any]:
        """Match the records no link (active or tombstone) covers; log the ambiguous ones."""
        linked_left = {link.left_id for link in links}
        linked_right = {link.right_id for link in links}
        matched = match_records(
            self.job.name,
            entity,
            [r for rid, r in listed["left"].items() if rid not in linked_left],
            [r for rid, r in listed["right"].items() if rid not in linked_right],
        )
        for amb in matched.ambiguous:
            self._log_conflict(
                Conflict(
                    job=self.job.name,
                    entity=entity,
                    kind="ambiguous-match",
                    record=amb.key,
                    left_value=amb.left_ids,
                    right_value=amb.right_ids,
                    message=f"several {entity}s share {amb.key}; link them by hand or make the key unique",
                )
            )
        return matched

    def _record_ref(self, left_id: str | None, right_id: str | None) -> str:
        return f"{self.job.left}:{left_id or '-'} <-> {self.job.right}:{right_id or '-'}"

    def _settle_intents(self, entity: str, listed: dict[Side, dict[str, Any]], links: list[Link]) -> None:
        """Adopt records created by a run that died before linking them; abandon intents that never landed."""
        intents = self.store.open_intents(self.job.name, entity)
        if not intents:
            return
        linked = {(link.left_id, link.right_id) for link in links}
        for intent in intents:
            target: Side = intent.target_side  # type: ignore[assignment]
            source: Side = _other(target)
            by_marker = {r.marker: r for r in listed[target].values() if r.marker}
            found = by_marker.get(intent.marker)
            if found is None:
                finder = (
                    self.side(target).find_case_by_marker if entity == "case" else self.side(target).find_plan_by_marker
                )
                found = finder(intent.marker)
            src = listed[source].get(intent.source_id)
            if found is None or found.id is None:
                self.store.resolve_intent(intent.id, "abandoned")  # type: ignore[arg-type]
                continue
            left_id, right_id = (intent.source_id, found.id) if target == "right" else (found.id, intent.source_id)
            if (left_id, right_id) in linked or src is None:
                self.store.resolve_intent(intent.id, f"adopted:{found.id}")  # type: ignore[arg-type]
                continue
            self.report.act(PlannedAction(entity, "adopt", self.name(target), str(found.id), intent.marker))
            if self.dry_run:
                continue
            lrec, rrec = (src, found) if target == "right" else (found, src)
            lview, rview = self._views(entity, lrec, rrec)
            link = Link(
                job=self.job.name,
                entity=entity,
                left_id=left_id,
                right_id=right_id,
                marker=intent.marker,
                base=_jsonable(lview if source == "left" else rview),
                left_hashes=hashes(lview),
                right_hashes=hashes(rview),
            )
            self.store.save_link(link, resolve_intent=intent.id, outcome=f"adopted:{found.id}")
            listed[target][found.id] = found
            links.append(link)
            linked.add((left_id, right_id))
            self.report.count(self.name(target), entity, "adopted")

    def _views(self, entity: str, left: Any, right: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if entity == "case":
            return self.case_fields.view(left, "left"), self.case_fields.view(right, "right")
        return self._plan_views(left, right)

    def _guard_mass_deletion(self, entity: str, active: list[Link], listed: dict[Side, dict[str, Any]]) -> None:
        if not active:
            return
        for side in ("left", "right"):
            ids = listed[side]  # type: ignore[index]
            vanished = sum(1 for link in active if (link.left_id if side == "left" else link.right_id) not in ids)
            share = vanished / len(active)
            if vanished >= MASS_DELETE_MIN and share > self.job.mass_delete_threshold:
                raise MassDeletionStop(
                    f"job {self.job.name}: {vanished} of {len(active)} linked {entity}s ({share:.0%}) vanished from "
                    f"{self.name(side)} at once (threshold {self.job.mass_delete_threshold:.0%}); nothing was "  # type: ignore[arg-type]
                    "deleted or changed",
                    hint="If the deletions are intended, raise mass_delete_threshold for this job and run again; "
                    "otherwise check the system's permissions, filters and scope.",
                )

    def _sync_linked_case(self, link: Link, left: Case | None, right: Case | None) -> None:
        entity = "case"
        if left is None:
            left = self.left.get_case(link.left_id)  # direct lookup: a listing alone never proves a deletion
        if right is None:
            right = self.right.get_case(link.right_id)
        if left is None or right is None:
            self._handle_deletion(entity, link, left, right)
            return
        lview = self.case_fields.view(left, "left")
        rview = self.case_fields.view(right, "right")
        self._merge_pair(entity, link, left, right, lview, rview)

    def _merge_pair(
        self,
        entity: str,
        link: Link,
        left: Any,
        right: Any,
        lview: dict[str, Any],
        rview: dict[str, Any],
        *,
        first_sight: bool = False,
    ) -> None:
        """Merge a linked pair and write the outcome; ``first_sight``: the pair was just matched (no base, so
        differing fields are conflicts and never "newest wins")."""
        record = self._record_ref(link.left_id, link.right_id)
        forced: dict[str, Any] = {}
        applied: list[int] = []
        for c in self._resolutions.get(record, []):
            if c.field:
                forced[c.field] = c.resolved_value
                applied.append(c.id)  # type: ignore[arg-type]
        trust_left = self.left.capabilities.trustworthy_timestamps
        trust_right = self.right.capabilities.trustworthy_timestamps
        outcome = merge_record(
            None if first_sight else link.base or {},
            lview,
            rview,
            self.policy,
            left_hashes=None if first_sight else link.left_hashes,
            right_hashes=None if first_sight else link.right_hashes,
            left_time=getattr(left, "updated_at", None) if trust_left else None,
            right_time=getattr(right, "updated_at", None) if trust_right else None,
            forced=forced,
        )
        title = str(getattr(left, "title", None) or getattr(left, "name", ""))
        for fc in outcome.conflicts:
            self._log_field_conflict(entity, link, record, title, fc)
        new_left, new_right = lview, rview
        failed: set[str] = set()
        if outcome.to_right:
            result = self._write(entity, "right", link.right_id, right, outcome.to_right, record)
            if result is None:
                failed |= set(outcome.to_right)
            else:
                new_right = result
        if outcome.to_left:
            result = self._write(entity, "left", link.left_id, left, outcome.to_left, record)
            if result is None:
                failed |= set(outcome.to_left)
            else:
                new_left = result
        if not first_sight and not outcome.changed and not outcome.conflicts and not forced:
            if _base_unchanged(link, lview, rview):
                self.report.count(self.job.left, entity, "unchanged")
                return
        if self.dry_run:
            return
        self._save_base(link, outcome, new_left, new_right, failed)
        if applied and not failed:
            self.store.mark_applied(applied)
        if outcome.settled and self._open_conflicts.get(record):
            self.store.auto_resolve(self.job.name, entity, record, sorted(outcome.settled))

    def _log_field_conflict(self, entity: str, link: Link, record: str, title: str, fc: FieldConflict) -> None:
        what = (
            f"matched records differ in {fc.field} at first sync"
            if fc.first_sight
            else f"both sides changed {fc.field}"
        )
        conflict = Conflict(
            job=self.job.name,
            entity=entity,
            kind="first-sight" if fc.first_sight else "edit",
            record=record,
            left_id=link.left_id,
            right_id=link.right_id,
            field=fc.field,
            base_value=_jsonable(fc.base),
            left_value=_jsonable(fc.left),
            right_value=_jsonable(fc.right),
            message=f"{title}: {what}"
            + (f"; decided by {fc.resolution}, the other value is kept here" if fc.resolution else ""),
        )
        if fc.resolution:
            # decided by the job's policy: logged as resolved, with the losing value kept for restoring
            conflict.resolved_at = conflict.applied_at = conflict.detected_at
            conflict.resolution = fc.resolution
            conflict.resolved_value = _jsonable(fc.left if fc.winner == "left" else fc.right)
            conflict.resolved_by = "policy"
        self._log_conflict(conflict)

    def _write(
        self, entity: str, target: Side, native_id: str, current: Any, values: dict[str, Any], record: str
    ) -> dict[str, Any] | None:
        """Write merged values to one side; return that side's view as stored, or None when not written."""
        adapter = self.side(target)
        to_left = self._left_ids() if entity == "plan" else {}
        updated: Any
        if entity == "case":
            updated = self.case_fields.apply(current, values, target)
            problems = adapter.check_case(updated)
        else:
            updated = apply_plan(
                current,
                values,
                side=target,
                from_left_ids=self._case_map("left_to_right"),
                to_left_ids=to_left if target == "left" else self._case_map("right_to_left"),
            )
            problems = adapter.check_plan(updated)
        if problems:
            self._cannot_represent(entity, record, problems, target, left_id=None, right_id=None)
            return None
        self.report.act(PlannedAction(entity, "update", self.name(target), native_id, ", ".join(sorted(values))))
        if self.dry_run:
            self.report.count(self.name(target), entity, "updated")
            return None
        try:
            stored: Any = (
                adapter.update_case(native_id, updated) if entity == "case" else adapter.update_plan(native_id, updated)
            )
        except CannotRepresent as exc:
            self._cannot_represent(entity, record, exc.problems, target)
            return None
        except RemoteError as exc:
            self.report.error(f"updating {entity} {native_id} on {self.name(target)}: {exc}")
            self.report.count(self.name(target), entity, "errors")
            return None
        self.report.count(self.name(target), entity, "updated")
        if entity == "case":
            return self.case_fields.view(stored, target)
        return plan_view(
            stored, target, self.plan_fields, to_left if target == "left" else self._case_map("right_to_left")
        )

    def _save_base(
        self, link: Link, outcome: MergeOutcome, new_left: dict[str, Any], new_right: dict[str, Any], failed: set[str]
    ) -> None:
        base = dict(link.base or {})
        lh = dict(link.left_hashes or {})
        rh = dict(link.right_hashes or {})
        now_l, now_r = hashes(new_left), hashes(new_right)
        for name, value in outcome.base.items():
            if name not in failed:
                base[name] = _jsonable(value)
        for name in outcome.accept_left - failed:
            if name in now_l:
                lh[name] = now_l[name]
        for name in outcome.accept_right - failed:
            if name in now_r:
                rh[name] = now_r[name]
        link.base, link.left_hashes, link.right_hashes = base, lh, rh
        self.store.save_link(link)

    def _handle_deletion(self, entity: str, link: Link, left: Any, right: Any) -> None:
        record = self._record_ref(link.left_id, link.right_id)
        if left is None and right is None:
            self.report.act(PlannedAction(entity, "unlink", "-", record, "deleted on both sides"))
            if not self.dry_run:
                self.store.delete_link(link)
            self.report.count(self.job.left, entity, "deleted")
            return
        gone: Side = "left" if left is None else "right"
        kept: Side = _other(gone)
        survivor = right if gone == "left" else left
        view = self.case_fields.view(survivor, kept) if entity == "case" else self._plan_views_one(survivor, kept)
        kept_hashes = link.right_hashes if kept == "right" else link.left_hashes
        modified = any(kept_hashes.get(k) != h for k, h in hashes(view).items() if k in kept_hashes)
        if modified and self.policy.may_write(gone):
            # a modification beats a deletion: restore the record on the side that deleted it, and say so
            self._log_conflict(
                Conflict(
                    job=self.job.name,
                    entity=entity,
                    kind="delete-vs-modify",
                    record=record,
                    left_id=link.left_id,
                    right_id=link.right_id,
                    message=f"deleted on {self.name(gone)} but changed on {self.name(kept)}: "
                    f"restored on {self.name(gone)}",
                    resolution="restored",
                    resolved_at=_now(),
                    applied_at=_now(),
                    resolved_by="testplan-bridge",
                )
            )
            if not self.dry_run:
                self.store.delete_link(link)
            if entity == "case":  # restored in place where the adapter can (the deleted row's native id)
                self._create_case(
                    kept, survivor, restored=True, restore_id=link.left_id if gone == "left" else link.right_id
                )
            else:
                self._create_plan(kept, survivor)
            return
        if self.job.deletions == "propagate" and self.policy.may_write(kept):
            self.report.act(PlannedAction(entity, "delete", self.name(kept), str(survivor.id)))
            if self.dry_run:
                self.report.count(self.name(kept), entity, "deleted")
                return
            try:
                (self.side(kept).delete_case if entity == "case" else self.side(kept).delete_plan)(survivor.id)
            except RemoteError as exc:
                self.report.error(f"deleting {entity} {survivor.id} on {self.name(kept)}: {exc}")
                self.report.count(self.name(kept), entity, "errors")
                return
            self.store.delete_link(link)
            self.report.count(self.name(kept), entity, "deleted")
            return
        # unlink and log; the tombstone keeps the survivor from being copied back as "new"
        self.report.act(
            PlannedAction(entity, "unlink", self.name(kept), str(survivor.id), f"deleted on {self.name(gone)}")
        )
        self.report.count(self.name(kept), entity, "unlinked")
        self._log_conflict(
            Conflict(
                job=self.job.name,
                entity=entity,
                kind="deleted",
                record=record,
                left_id=link.left_id,
                right_id=link.right_id,
                message=f"deleted on {self.name(gone)}; kept on {self.name(kept)} and unlinked (deletions = unlink)",
                resolution="policy:unlink",
                resolved_at=_now(),
                applied_at=_now(),
                resolved_by="policy",
            )
        )
        if not self.dry_run:
            link.state = "unlinked"
            self.store.save_link(link)

    def _first_sight_case(self, left: Case, right: Case) -> None:
        link = Link(job=self.job.name, entity="case", left_id=str(left.id), right_id=str(right.id))
        self.report.act(PlannedAction("case", "link", "-", self._record_ref(left.id, right.id), left.title))
        self.report.count(self.job.left, "case", "linked")
        lview = self.case_fields.view(left, "left")
        rview = self.case_fields.view(right, "right")
        self._merge_first_sight("case", link, left, right, lview, rview)

    def _merge_first_sight(
        self, entity: str, link: Link, left: Any, right: Any, lview: dict[str, Any], rview: dict[str, Any]
    ) -> None:
        link.base = {}
        if not self.dry_run:
            link = self.store.save_link(link)
        self._merge_pair(entity, link, left, right, lview, rview, first_sight=True)

    def _create_case(self, source: Side, case: Case, *, restored: bool = False, restore_id: str | None = None) -> None:
        new = self.case_fields.for_create(case, source)
        self._create("case", source, case, new, label=case.title, restored=restored, restore_id=restore_id)

    def _create(
        self,
        entity: str,
        source: Side,
        record: Any,
        new: Any,
        *,
        label: str,
        restored: bool = False,
        restore_id: str | None = None,
    ) -> None:
        """Create ``new`` (built from ``record``) on the other side: checked, intent first, then the link."""
        target: Side = _other(source)
        adapter = self.side(target)
        ref = f"{self.name(source)}:{record.id} {label!r}"
        problems = adapter.check_case(new) if entity == "case" else adapter.check_plan(new)
        if problems:
            ids = {"left_id": record.id} if source == "left" else {"right_id": record.id}
            self._cannot_represent(entity, ref, problems, target, **ids)
            return
        marker = marker_for(self.job.name, entity, source, str(record.id))
        self.report.act(PlannedAction(entity, "restore" if restored else "create", self.name(target), label, ref))
        if self.dry_run:
            self.report.count(self.name(target), entity, "created")
            return
        intent = self.store.record_intent(self.job.name, entity, target, str(record.id), marker)
        try:
            created: Any = adapter.restore_case(restore_id, new, marker=marker) if restore_id is not None else None
            if created is None:
                created = (
                    adapter.create_case(new, marker=marker)
                    if entity == "case"
                    else adapter.create_plan(new, marker=marker)
                )
        except TransportError as exc:
            # the create may have landed: the open intent makes the next run look for the marker first
            self.report.error(f"creating {entity} {ref} on {self.name(target)}: {exc}")
            self.report.count(self.name(target), entity, "errors")
            if not exc.maybe_applied:
                self.store.resolve_intent(intent.id, "failed")  # type: ignore[arg-type]
            return
        except CannotRepresent as exc:
            self.store.resolve_intent(intent.id, "failed")  # type: ignore[arg-type]
            self._cannot_represent(entity, ref, exc.problems, target)
            return
        except RemoteError as exc:
            self.store.resolve_intent(intent.id, "failed")  # type: ignore[arg-type]
            self.report.error(f"creating {entity} {ref} on {self.name(target)}: {exc}")
            self.report.count(self.name(target), entity, "errors")
            return
        sview = self._view_one(entity, record, source)
        tview = self._view_one(entity, created, target)
        left_id, right_id = (str(record.id), str(created.id)) if source == "left" else (str(created.id), str(record.id))
        link = Link(
            job=self.job.name,
            entity=entity,
            left_id=left_id,
            right_id=right_id,
            marker=marker,
            base=_jsonable(sview),
            left_hashes=hashes(sview if source == "left" else tview),
            right_hashes=hashes(tview if source == "left" else sview),
        )
        self.store.save_link(link, resolve_intent=intent.id, outcome=f"created:{created.id}")
        self.report.count(self.name(target), entity, "created")
        self._note_lossy(entity, ref, sview, tview, target)

    def _view_one(self, entity: str, record: Any, side: Side) -> dict[str, Any]:
        return self.case_fields.view(record, side) if entity == "case" else self._plan_views_one(record, side)

    def _note_lossy(self, entity: str, ref: str, sent: dict[str, Any], stored: dict[str, Any], target: Side) -> None:
        """A value the target stored differently from what was sent (fewer levels, re-formatted text)."""
        for name in sorted(sent):
            if sent[name] in (None, "", [], {}):
                continue  # nothing was sent: the target's default is not a loss
            if hashes({name: sent[name]}) != hashes({name: stored.get(name)}):
                self._log_conflict(
                    Conflict(
                        job=self.job.name,
                        entity=entity,
                        kind="lossy-write",
                        record=ref,
                        field=name,
                        left_value=_jsonable(sent[name] if target == "right" else stored.get(name)),
                        right_value=_jsonable(stored.get(name) if target == "right" else sent[name]),
                        message=f"{self.name(target)} stored {name} differently from what was sent",
                        resolution="noted",
                        resolved_at=_now(),
                        applied_at=_now(),
                        resolved_by="testplan-bridge",
                    )
                )

    # ------------------------------------------------------------------------------------------- plans
    def _case_map(self, direction: str) -> dict[str, str]:
        cache = self._case_maps
        if cache is None:
            links = [link for link in self.store.links(self.job.name, "case") if link.state == "active"]
            cache = {
                "left_to_right": {link.left_id: link.right_id for link in links},
                "right_to_left": {link.right_id: link.left_id for link in links},
            }
            self._case_maps = cache
        return cache[direction]

    def _left_ids(self) -> dict[str, str]:
        return {lid: lid for lid in self._case_map("left_to_right")}

    def _plan_views(self, left: Plan, right: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            plan_view(left, "left", self.plan_fields, self._left_ids()),
            plan_view(right, "right", self.plan_fields, self._case_map("right_to_left")),
        )

    def _plan_views_one(self, plan: Plan, side: Side) -> dict[str, Any]:
        mapping = self._left_ids() if side == "left" else self._case_map("right_to_left")
        return plan_view(plan, side, self.plan_fields, mapping)

    def _in_plan_scope(self, plan: Plan) -> bool:
        patterns = self.job.scope.plan_names
        return not patterns or any(fnmatch.fnmatchcase(plan.name, p) for p in patterns)

    def sync_plans(self) -> None:
        entity = Entity.PLAN.value
        if Entity.PLAN not in self.left.capabilities.entities or Entity.PLAN not in self.right.capabilities.entities:
            return
        self._case_maps = None  # case links may have changed in this run
        self._load_conflict_state(entity)
        listed: dict[Side, dict[str, Plan]] = {}
        for side in ("left", "right"):
            listed[side] = {  # type: ignore[index]
                p.id: p
                for p in self.side(side).iter_plans()
                if p.id is not None and self._in_plan_scope(p)  # type: ignore[arg-type]
            }
        links = self.store.links(self.job.name, entity)
        self._settle_intents(entity, listed, links)  # type: ignore[arg-type]
        links = self.store.links(self.job.name, entity)
        active = [link for link in links if link.state == "active"]
        self._guard_mass_deletion(entity, active, listed)  # type: ignore[arg-type]
        for link in active:
            left = listed["left"].get(link.left_id) or self.left.get_plan(link.left_id)
            right = listed["right"].get(link.right_id) or self.right.get_plan(link.right_id)
            try:
                if left is None or right is None:
                    self._handle_deletion(entity, link, left, right)
                    continue
                lview, rview = self._plan_views(left, right)
                self._merge_pair(entity, link, left, right, lview, rview)
            except RemoteError as exc:
                self.report.error(str(exc))
        matched = self._match_unlinked(entity, listed, links)  # type: ignore[arg-type]
        for lp, rp, _how in matched.pairs:
            link = Link(job=self.job.name, entity=entity, left_id=str(lp.id), right_id=str(rp.id))
            self.report.count(self.job.left, entity, "linked")
            lview, rview = self._plan_views(lp, rp)
            self._merge_first_sight(entity, link, lp, rp, lview, rview)
        for source, plans in (("left", matched.left_only), ("right", matched.right_only)):
            if not self.policy.may_write(_other(source)):  # type: ignore[arg-type]
                continue
            for plan in plans:
                try:
                    self._create_plan(source, plan)  # type: ignore[arg-type]
                except RemoteError as exc:
                    self.report.error(str(exc))

    def _create_plan(self, source: Side, plan: Plan) -> None:
        mapping = self._case_map("left_to_right" if source == "left" else "right_to_left")
        keep_runs = self.left.capabilities.plan_runs and self.right.capabilities.plan_runs
        new, missing = plan_for_create(plan, from_source_ids=mapping, keep_runs=keep_runs, fields=self.plan_fields)
        if missing:
            ref = f"{self.name(source)}:{plan.id} {plan.name!r}"
            self.report.notes.append(f"plan {ref}: {len(missing)} member case(s) are not linked and were not copied")
        self._create("plan", source, plan, new, label=plan.name)

    # ------------------------------------------------------------------------------------ perftest tasks
    def sync_perftest_tasks(self) -> None:
        """One CodeArts PerfTest task per linked plan, holding the PerfTest cases its member cases point to.

        A case points to PerfTest cases with a tag ``perftest:<id>`` or a custom field ``perftest_case_id``
        (either side). Plans whose cases point to none get no task.
        """
        from adapters.perftest.client import PerfTestClient, ensure_plan_task
        from adapters.perftest.settings import PerfTestSettings

        assert self.job.perftest is not None
        settings = self.config.system(self.job.perftest)
        assert isinstance(settings, PerfTestSettings)
        if not self._listed_cases:
            self.report.notes.append("perftest: cases were not read in this run (add 'case' to entities)")
            return
        plan_links = [link for link in self.store.links(self.job.name, "plan") if link.state == "active"]
        left_to_right = self._case_map("left_to_right")
        with PerfTestClient(self.job.perftest, settings) as client:
            for link in plan_links:
                plan = self.left.get_plan(link.left_id)
                if plan is None:
                    continue
                wanted: set[int] = set()
                for cid in plan.case_ids():
                    for side, native in (("left", cid), ("right", left_to_right.get(cid))):
                        case = self._listed_cases.get(side, {}).get(native or "")  # type: ignore[call-overload]
                        wanted |= perftest_case_ids(case) if case is not None else set()
                if not wanted:
                    continue
                self.report.act(PlannedAction("plan", "task", self.job.perftest, plan.name, f"{len(wanted)} cases"))
                if self.dry_run:
                    continue
                try:
                    ensure_plan_task(client, plan.name, sorted(wanted))
                    self.report.count(self.job.perftest, "task", "updated")
                except RemoteError as exc:
                    self.report.error(f"PerfTest task for plan {plan.name!r}: {exc}")
                    self.report.count(self.job.perftest, "task", "errors")

    # ----------------------------------------------------------------------------------------- results
    def sync_results(self) -> None:
        if not (self.left.capabilities.read_results and self.right.capabilities.read_results):
            return
        if (
            Entity.RESULT not in self.left.capabilities.entities
            or Entity.RESULT not in self.right.capabilities.entities
        ):
            return
        self._case_maps = None
        plan_links = [link for link in self.store.links(self.job.name, "plan") if link.state == "active"]
        if not plan_links:
            return
        copied_sources, bridge_made, bridge_markers = self.store.copied_results(self.job.name)
        landed = self.store.open_intents(self.job.name, "result")
        for link in plan_links:
            results: dict[Side, list[Result]] = {
                "left": list(self.left.iter_results(plan_id=link.left_id)),
                "right": list(self.right.iter_results(plan_id=link.right_id)),
            }
            # before anything is copied either way: results an interrupted run posted but did not record
            for intent in landed:
                target_plan_id = link.right_id if intent.target_side == "right" else link.left_id
                if intent.source_id == f"plan:{target_plan_id}":
                    self._adopt_posted_results(intent, results, link, copied_sources, bridge_made)
            plans: dict[Side, Plan | None] = {"left": None, "right": None}
            for source in ("left", "right"):
                target: Side = _other(source)  # type: ignore[arg-type]
                if not self.policy.may_write(target):
                    continue
                fresh = [
                    r
                    for r in results[source]  # type: ignore[index]
                    if r.id is not None
                    and (source, r.id) not in copied_sources
                    and f"{source}:{r.id}" not in bridge_made
                    and (r.marker is None or r.marker not in bridge_markers)
                    and result_fingerprint(r) not in bridge_markers
                ]
                if not fresh:
                    continue
                if plans[target] is None:
                    plans[target] = self.side(target).get_plan(link.right_id if target == "right" else link.left_id)
                self._copy_results(source, target, fresh, link, plans[target])  # type: ignore[arg-type]

    def _copy_results(
        self, source: Side, target: Side, fresh: list[Result], link: Link, target_plan: Plan | None
    ) -> None:
        mapping = self._case_map("left_to_right" if source == "left" else "right_to_left")
        run_of: dict[str, str | None] = {}
        if target_plan is not None:
            for run in target_plan.runs:
                for cid in run.case_ids:
                    run_of.setdefault(cid, run.id)
        target_plan_id = link.right_id if target == "right" else link.left_id
        outgoing: list[tuple[Result, Result]] = []
        for result in sorted(fresh, key=lambda r: (r.executed_at is None, r.executed_at or 0, r.id)):  # type: ignore[arg-type, return-value]
            case_id = mapping.get(result.case_id)
            if case_id is None:
                self.report.count(self.name(target), "result", "skipped")
                continue
            copy = Result(
                case_id=case_id,
                plan_id=target_plan_id,
                run_id=run_of.get(case_id),
                status=result.status,
                comment=result.comment,
                elapsed_seconds=result.elapsed_seconds,
                defects=result.defects,
                executed_at=result.executed_at,
                executed_by=result.executed_by,
                marker=marker_for(self.job.name, "result", source, str(result.id)),
            )
            problems = self.side(target).check_result(copy)
            if problems:
                ref = f"result {self.name(source)}:{result.id} (case {result.case_id})"
                self._cannot_represent("result", ref, problems, target)
                continue
            outgoing.append((result, copy))
        if not outgoing:
            return
        self.report.act(
            PlannedAction("result", "create", self.name(target), f"{len(outgoing)} results", f"plan {target_plan_id}")
        )
        if self.dry_run:
            self.report.count(self.name(target), "result", "created", len(outgoing))
            return
        # Results carry no marker on every system (TestRail has nowhere to keep one), so the intent names the
        # target plan: a run that dies between posting and recording leaves it open, and the next run adopts
        # what landed (see _adopt_posted_results) instead of posting it a second time.
        intent = self.store.record_intent(
            self.job.name, "result", target, f"plan:{target_plan_id}", f"results:{len(outgoing)}"
        )
        try:
            stored = self.side(target).add_results([c for _, c in outgoing])
        except CannotRepresent as exc:  # refused before anything was sent
            self.store.resolve_intent(intent.id, "failed")  # type: ignore[arg-type]
            self._cannot_represent("result", f"plan {target_plan_id}", exc.problems, target)
            return
        except RemoteError as exc:
            # some batches may have landed: the intent stays open for the next run to settle
            self.report.error(f"posting results to {self.name(target)}: {exc}")
            self.report.count(self.name(target), "result", "errors")
            return
        rows = [
            ResultCopy(
                job=self.job.name,
                source_side=source,
                source_id=str(src.id),
                target_id=str(st.id) if st.id is not None else None,
                marker=copy.marker or "",
                fingerprint=result_fingerprint(copy),
            )
            for (src, copy), st in zip(outgoing, stored, strict=False)
        ]
        self.store.record_result_copies(rows)
        self.store.resolve_intent(intent.id, f"created:{len(rows)}")  # type: ignore[arg-type]
        self.report.count(self.name(target), "result", "created", len(rows))

    def _adopt_posted_results(
        self,
        intent: Intent,
        results: dict[Side, list[Result]],
        link: Link,
        copied_sources: set[tuple[str, str]],
        bridge_made: set[str],
    ) -> None:
        """Record as copies the results an interrupted run posted to ``intent``'s target plan.

        A result on the target that is no known copy and no copied source is taken for the copy of a not yet
        copied source result with the same case and status (one for one, oldest first). A person who posted
        exactly that result meanwhile has it counted as the copy: both sides then hold the same status, and
        nothing is posted twice.
        """
        target: Side = intent.target_side  # type: ignore[assignment]
        source: Side = _other(target)
        mapping = self._case_map("left_to_right" if source == "left" else "right_to_left")
        unknown: dict[tuple[str, Status], list[Result]] = {}
        for r in sorted(results[target], key=lambda r: (len(str(r.id)), str(r.id))):  # numeric ids in order
            if r.id is not None and f"{target}:{r.id}" not in bridge_made and (target, r.id) not in copied_sources:
                unknown.setdefault((r.case_id, r.status), []).append(r)
        rows: list[ResultCopy] = []
        for src in results[source]:
            if src.id is None or (source, src.id) in copied_sources or f"{source}:{src.id}" in bridge_made:
                continue
            pool = unknown.get((mapping.get(src.case_id, ""), src.status))
            if not pool:
                continue
            found = pool.pop(0)
            marker = marker_for(self.job.name, "result", source, str(src.id))
            rows.append(
                ResultCopy(
                    job=self.job.name,
                    source_side=source,
                    source_id=str(src.id),
                    target_id=str(found.id),
                    marker=marker,
                    fingerprint=result_fingerprint(found),
                )
            )
        if rows:
            self.report.act(PlannedAction("result", "adopt", self.name(target), f"{len(rows)} results", intent.marker))
        if self.dry_run:
            return
        self.store.record_result_copies(rows)
        for row in rows:
            copied_sources.add((source, row.source_id))
            bridge_made.add(f"{target}:{row.target_id}")
        self.store.resolve_intent(intent.id, f"adopted:{len(rows)}")  # type: ignore[arg-type]
        if rows:
            self.report.count(self.name(target), "result", "adopted", len(rows))


# ------------------------------------------------------------------------------------------------ helpers


def perftest_case_ids(case: Case) -> set[int]:
    """PerfTest case ids a case points to: tags ``perftest:<id>`` and a ``perftest_case_id`` custom field."""
    found = {int(t.split(":", 1)[1]) for t in case.tags if t.startswith("perftest:") and t.split(":", 1)[1].isdigit()}
    value = case.custom.get("perftest_case_id")
    for item in value if isinstance(value, list) else [value]:
        if item is not None and str(item).strip().isdigit():
            found.add(int(str(item).strip()))
    return found


def result_fingerprint(result: Result) -> str:
    """What identifies a result on a system that does not keep our marker: case, status, time (seconds)."""
    when = result.executed_at
    stamp = "" if when is None else str(int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()))
    return f"{result.case_id}|{result.status.value}|{stamp}"


def _other(side: Side) -> Side:
    return "right" if side == "left" else "left"


def _holds(fields: frozenset[str] | None, name: str) -> bool:
    return fields is None or name in fields


def _now() -> Any:
    from mappings.tables import utcnow

    return utcnow()


def _jsonable(value: Any) -> Any:
    import json

    from bridge.text import stable_json

    return json.loads(stable_json(value))


def _base_unchanged(link: Link, lview: dict[str, Any], rview: dict[str, Any]) -> bool:
    lh, rh = hashes(lview), hashes(rview)
    return all(link.left_hashes.get(k) == v for k, v in lh.items()) and all(
        link.right_hashes.get(k) == v for k, v in rh.items()
    )


def _flat(report: SyncReport) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for c in report.counts.values():
        totals.update(c)
    return dict(totals)


def open_adapters(
    config: Config, names: Iterable[str], job: Job | None = None, *, read_only: bool = False
) -> dict[str, Adapter]:
    """Create and connect the adapters for ``names`` (with the job's value map overrides); ``read_only`` for
    a dry run."""
    from adapters.registry import create_adapter

    adapters: dict[str, Adapter] = {}
    try:
        for name in names:
            overrides = (job.value_maps.get(name) if job else None) or {}
            adapter = create_adapter(name, config.system(name), overrides)
            adapter.read_only = read_only
            adapter.connect()
            adapters[name] = adapter
    except BaseException:
        for adapter in adapters.values():
            adapter.close()
        raise
    return adapters


class _AllPresent:
    """Stands for the listing of a side read incrementally: every linked record counts as present."""

    def __contains__(self, _: object) -> bool:
        return True
