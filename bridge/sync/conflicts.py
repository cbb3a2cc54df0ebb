"""The conflict lifecycle of one run, one entity at a time.

An entry is kept per record, field and kind (and, for a value a side cannot hold, that side): a run that
finds it again updates it in place, and a run that looks at the record and does not find it again closes it
(resolution ``auto``): the values agree again, the value fits, or the record is gone. Records a run does not
look at (an incremental read skips unchanged pairs) keep their entries as they are.

People's decisions come back in here too: values chosen for an edit, a loss accepted or a value given for
something a side cannot hold (they hold while the value they were about is unchanged), the pair to link for
an ambiguous match, a record kept that looked like a duplicate.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from bridge.errors import Unrepresentable
from bridge.sync.context import RunContext, jsonable
from bridge.sync.fieldpath import PathError, get_path, root, set_path
from bridge.sync.merge import FieldConflict, Side, field_hash
from bridge.sync.report import PlannedAction
from bridge.text import content_hash
from mappings.tables import Conflict, Link, LinkIds, Note, utcnow

Key = tuple[str, str | None, str | None, str | None]  # kind, subject, field, side
_REFRESHED = ("left_value", "right_value", "base_value", "message", "value_hash", "attempt", "record")


def pair_subject(link: LinkIds) -> str:
    return f"left:{link.left_id}"


class ConflictLog:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._lock = threading.RLock()
        self.opened = 0
        self.closed = 0
        self.noted = 0
        self._reset(None)

    def _reset(self, entity: str | None) -> None:
        self.entity = entity
        self._open: dict[Key, Conflict] = {}
        self._seen: set[Key] = set()
        self._examined: set[str] = set()
        self._examined_kinds: set[str] = set()
        self._resolutions: dict[str, list[Conflict]] = defaultdict(list)
        self._waivers: dict[tuple[str | None, str | None, str | None], Conflict] = {}
        self.link_choices: list[Conflict] = []
        self.kept: set[str] = set()

    def load(self, entity: str) -> None:
        """Start ``entity``'s stage: its open entries and the decisions people made on it."""
        store, job = self.ctx.store, self.ctx.job.name
        with self._lock:
            self._reset(entity)
            extra: list[int] = []
            for c in store.conflicts(job=job, entity=entity, open_only=True):
                key = _key(c)
                if key in self._open:
                    extra.append(c.id)  # type: ignore[arg-type]  # entries an older release logged twice
                else:
                    self._open[key] = c
            if extra:
                store.close_conflicts(extra, message="the same as an older entry")
            for c in store.pending_resolutions(job, entity):
                if c.kind in ("edit", "first-sight") and c.field:
                    self._resolutions[c.subject or c.record].append(c)
                elif c.kind == "ambiguous-match" and c.resolution == "linked":
                    self.link_choices.append(c)
            for c in store.conflicts(job=job, entity=entity, kind="duplicate", open_only=False):
                if c.resolution == "keep" and c.subject:
                    self.kept.add(c.subject)
            for c in store.waivers(job, entity):
                self._waivers[(c.subject, c.side, c.field)] = c  # the newest decision wins

    # ------------------------------------------------------------------------------------ lifecycle
    def examine(self, subject: str) -> None:
        """This run looks at the record ``subject``: its open entries not found again will be closed."""
        with self._lock:
            self._examined.add(subject)

    def examine_kind(self, kind: str) -> None:
        """This run re-checks every entry of ``kind`` (a full matching pass, a full duplicate check)."""
        with self._lock:
            self._examined_kinds.add(kind)

    def examine_missing(self, side: Side, present: Iterable[str]) -> None:
        """Records of ``side`` that a full listing no longer has: their entries close (the record is gone)."""
        ids = set(present)
        prefix = f"{side}:"
        with self._lock:
            for _kind, subject, _field, _side in self._open:
                if subject and subject.startswith(prefix) and subject[len(prefix) :] not in ids:
                    self._examined.add(subject)

    def hold(self, entry: Conflict) -> Conflict:
        """Log ``entry``: refresh the open entry with its key, or open it (decided entries are history)."""
        ctx = self.ctx
        entry.job = ctx.job.name
        entry.run_id = ctx.report.run_id
        with self._lock:
            if entry.resolved_at is not None:
                self._act("conflict", entry, f"{entry.kind} {entry.field or ''}".strip() + f": {entry.resolution}")
                return ctx.store.save_conflict(entry)
            key = _key(entry)
            self._seen.add(key)
            existing = self._open.get(key)
            if existing is None:
                entry.last_seen_at = utcnow()
                entry.last_run_id = entry.run_id
                saved = ctx.store.save_conflict(entry)
                self._open[key] = saved
                self.opened += 1
                self._act("conflict", entry, f"{entry.kind} {entry.field or ''}".strip())
                return saved
            if any(getattr(existing, name) != getattr(entry, name) for name in _REFRESHED):
                for name in _REFRESHED:
                    setattr(existing, name, getattr(entry, name))
                existing.left_id = entry.left_id or existing.left_id
                existing.right_id = entry.right_id or existing.right_id
                existing.last_seen_at = utcnow()
                existing.last_run_id = entry.run_id
                self._open[key] = existing = ctx.store.save_conflict(existing)
            return existing

    def finish(self) -> None:
        """End of the stage: close the open entries of the records looked at that were not found again."""
        with self._lock:
            stale = [
                c
                for key, c in self._open.items()
                if key not in self._seen and (c.subject in self._examined or c.kind in self._examined_kinds)
            ]
            for c in stale:
                self._act("close", c, f"{c.kind} {c.field or ''}".strip())
                del self._open[_key(c)]
            self.closed += len(stale)
            self.ctx.store.close_conflicts([c.id for c in stale])  # type: ignore[misc]

    def _act(self, action: str, c: Conflict, detail: str) -> None:
        self.ctx.report.act(PlannedAction(c.entity, action, "-", c.record, detail))

    # ------------------------------------------------------------------------------------ decisions
    def busy_subjects(self) -> set[str]:
        """Subjects with an open entry or a decision waiting to be applied: a run must merge them even when
        neither side changed (the merge re-finds or closes the entry, or applies the decision)."""
        with self._lock:
            return {subject for _kind, subject, _field, _side in self._open if subject} | set(self._resolutions)

    def has_resolution(self, subject: str) -> bool:
        return bool(self._resolutions.get(subject))

    def forced(self, subject: str) -> tuple[dict[str, Any], list[int]]:
        """Values people chose for the record's fields, and the entries that hold them."""
        forced: dict[str, Any] = {}
        ids: list[int] = []
        for c in self._resolutions.get(subject, []):
            forced[c.field] = c.resolved_value  # type: ignore[index]
            ids.append(c.id)  # type: ignore[arg-type]
        return forced, ids

    def applied(self, conflict_ids: Sequence[int]) -> None:
        if conflict_ids:
            self.ctx.store.mark_applied(conflict_ids)

    def waive(
        self, subject: str, side: Side, record: BaseModel, problems: Sequence[Unrepresentable], fallback: Any
    ) -> tuple[Any | None, bool]:
        """``record`` with the values people decided on put in place of those ``side`` cannot hold: the side's
        own value (``fallback``, or the field's default for a new record) where the loss was accepted, the
        value given otherwise. (None, False) when no decision applies; (None, True) when the record is to be
        left out (a loss accepted for a field a record cannot be without)."""
        data = record.model_dump(mode="json")
        original = {root(p.field): content_hash(data.get(root(p.field))) for p in problems}
        changed = False
        for p in problems:
            w = self._waivers.get((subject, side, p.field))
            if w is None or w.value_hash != original[root(p.field)]:
                continue  # no decision, or the value changed since: the decision does not hold any more
            top = root(p.field)
            if w.resolution == "accepted":
                if fallback is not None:
                    data[top] = fallback.model_dump(mode="json")[top]
                else:
                    info = type(record).model_fields[top]
                    if info.is_required():
                        return None, True
                    data[top] = jsonable(info.get_default(call_default_factory=True))
            else:
                try:
                    data = set_path(data, p.field, w.resolved_value)
                except PathError:
                    continue
            changed = True
        if not changed:
            return None, False
        return type(record).model_validate(data), False

    # --------------------------------------------------------------------------------------- kinds
    def cannot_represent(
        self,
        entity: str,
        subject: str,
        ref: str,
        problems: Sequence[Unrepresentable],
        target: Side,
        attempt: BaseModel | None,
        *,
        left_id: str | None = None,
        right_id: str | None = None,
    ) -> None:
        data = attempt.model_dump(mode="json") if attempt is not None else None
        by_field: dict[str, list[Unrepresentable]] = defaultdict(list)
        for p in problems:
            by_field[p.field].append(p)
        for name, group in by_field.items():
            value = group[0].value
            if data is not None:
                try:
                    value = get_path(data, name)
                except PathError:
                    pass
            reasons = "; ".join(dict.fromkeys(p.reason for p in group))
            self.hold(
                Conflict(
                    job=self.ctx.job.name,
                    entity=entity,
                    kind="cannot-represent",
                    subject=subject,
                    record=ref,
                    field=name,
                    side=target,
                    value_hash=content_hash(data.get(root(name))) if data is not None else None,
                    attempt=data,
                    left_value=jsonable(value) if target == "right" else None,
                    right_value=jsonable(value) if target == "left" else None,
                    message=f"{self.ctx.name(target)} cannot hold it: {reasons}",
                    left_id=left_id,
                    right_id=right_id,
                )
            )

    def field_conflict(self, entity: str, link: Link, record: str, title: str, fc: FieldConflict) -> None:
        # a field the pair never agreed on stays a first-sight conflict on later runs (same entry)
        never_agreed = fc.first_sight or (fc.field not in link.left_hashes and fc.field not in link.right_hashes)
        what = f"matched records differ in {fc.field}" if never_agreed else f"both sides changed {fc.field}"
        conflict = Conflict(
            entity=entity,
            job=self.ctx.job.name,
            kind="first-sight" if never_agreed else "edit",
            subject=pair_subject(link),
            record=record,
            left_id=link.left_id,
            right_id=link.right_id,
            field=fc.field,
            base_value=jsonable(fc.base),
            left_value=jsonable(fc.left),
            right_value=jsonable(fc.right),
            message=f"{title}: {what}"
            + (f"; decided by {fc.resolution}, the other value is kept here" if fc.resolution else ""),
        )
        if fc.resolution:
            # decided by the job's policy: logged as resolved, with the losing value kept for restoring
            conflict.resolved_at = conflict.applied_at = conflict.detected_at
            conflict.resolution = fc.resolution
            conflict.resolved_value = jsonable(fc.left if fc.winner == "left" else fc.right)
            conflict.resolved_by = "policy"
        self.hold(conflict)

    def event(self, entity: str, kind: str, link: Link, message: str, resolution: str, by: str) -> None:
        """Something the bridge decided by itself (a restore, an unlink), logged as decided."""
        now = utcnow()
        self.hold(
            Conflict(
                job=self.ctx.job.name,
                entity=entity,
                kind=kind,
                subject=pair_subject(link),
                record=self.ctx.record_ref(link.left_id, link.right_id),
                left_id=link.left_id,
                right_id=link.right_id,
                message=message,
                resolution=resolution,
                resolved_at=now,
                applied_at=now,
                resolved_by=by,
            )
        )

    def ambiguous(self, entity: str, key: str, left_ids: list[str], right_ids: list[str]) -> None:
        self.hold(
            Conflict(
                job=self.ctx.job.name,
                entity=entity,
                kind="ambiguous-match",
                subject=f"key:{key}",
                record=key,
                left_value=left_ids,
                right_value=right_ids,
                message=f"several {entity}s share {key}; link two by hand (conflicts resolve ID --take "
                'value=\'{"left": ID, "right": ID}\') or make the key unique',
            )
        )

    def duplicate(self, entity: str, side: Side, record_id: str, linked_id: str, label: str) -> None:
        name = self.ctx.name(side)
        self.hold(
            Conflict(
                job=self.ctx.job.name,
                entity=entity,
                kind="duplicate",
                subject=f"duplicate:{side}:{record_id}",
                record=f"{name}:{record_id} {label!r}",
                left_id=record_id if side == "left" else None,
                right_id=record_id if side == "right" else None,
                left_value=[linked_id, record_id] if side == "left" else None,
                right_value=[linked_id, record_id] if side == "right" else None,
                message=f"{name}:{record_id} is a second copy of {name}:{linked_id}, which is linked; left in place "
                "and not copied. Delete one of them on "
                f"{name} (this entry then closes), or keep it as a case of its own: --take value=keep",
            )
        )

    # ------------------------------------------------------------------------------------------ notes
    def note_lossy(
        self,
        entity: str,
        ref: str,
        sent: dict[str, Any],
        stored: dict[str, Any],
        target: Side,
        sent_hashes: Mapping[str, str],
        stored_hashes: Mapping[str, str],
    ) -> None:
        """A value the target stored differently from what was sent (fewer levels, re-formatted text): a note,
        not a conflict (nothing waits for a person). ``sent_hashes``, ``stored_hashes``: :func:`hashes` of
        ``sent`` and ``stored`` (the caller has them for the link)."""
        for name in sorted(sent):
            if sent[name] in (None, "", [], {}):
                continue  # nothing was sent: the target's default is not a loss
            stored_hash = stored_hashes[name] if name in stored_hashes else field_hash(None)
            if sent_hashes[name] != stored_hash:
                with self._lock:
                    self.noted += 1
                self.ctx.store.hold_note(
                    Note(
                        job=self.ctx.job.name,
                        entity=entity,
                        kind="lossy-write",
                        record=ref,
                        field=name,
                        left_value=jsonable(sent[name] if target == "right" else stored.get(name)),
                        right_value=jsonable(stored.get(name) if target == "right" else sent[name]),
                        message=f"{self.ctx.name(target)} stored {name} differently from what was sent",
                        run_id=self.ctx.report.run_id,
                    )
                )


def _key(c: Conflict) -> Key:
    return (c.kind, c.subject or c.record, c.field, c.side)
