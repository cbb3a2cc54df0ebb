"""The store's conflict log and notes: the reads and writes of the engine's conflict lifecycle, and everything
a reviewing tool needs to list, count, show and resolve entries without going around the store."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bridge.errors import StoreError
from mappings.tables import Conflict, Note, utcnow


class ConflictRecords:
    """Mixed into :class:`mappings.store.Store` (each method is its own short transaction)."""

    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def log_conflict(self, conflict: Conflict) -> Conflict:
        """Open an entry, or refresh the open entry with the same key in place (same job, entity, kind, field,
        side, and subject, or record text where the entry has no subject)."""
        with self.session() as s:
            q = select(Conflict).where(
                Conflict.job == conflict.job,
                Conflict.entity == conflict.entity,
                Conflict.kind == conflict.kind,
                col(Conflict.resolved_at).is_(None),
            )
            for name in ("field", "side") + (("subject",) if conflict.subject is not None else ("record",)):
                value = getattr(conflict, name)
                column = col(getattr(Conflict, name))
                q = q.where(column == value if value is not None else column.is_(None))
            existing = s.exec(q).first()
            if existing is not None:
                for name in ("left_value", "right_value", "base_value", "attempt", "value_hash", "record"):
                    setattr(existing, name, getattr(conflict, name))
                existing.message = conflict.message or existing.message
                existing.left_id = conflict.left_id or existing.left_id
                existing.right_id = conflict.right_id or existing.right_id
                existing.last_seen_at = utcnow()
                existing.last_run_id = conflict.run_id
                conflict = existing
            s.add(conflict)
            s.commit()
            s.refresh(conflict)
            return conflict

    def save_conflict(self, conflict: Conflict) -> Conflict:
        """Insert or update one entry as it is (the engine's lifecycle decided what it holds)."""
        with self.session() as s:
            saved = s.merge(conflict) if conflict.id is not None else conflict
            s.add(saved)
            s.commit()
            s.refresh(saved)
            return saved

    def conflicts(
        self,
        *,
        job: str | None = None,
        open_only: bool = True,
        limit: int | None = None,
        entity: str | None = None,
        kind: str | None = None,
    ) -> list[Conflict]:
        with self.session() as s:
            q = select(Conflict)
            if job:
                q = q.where(Conflict.job == job)
            if entity:
                q = q.where(Conflict.entity == entity)
            if kind:
                q = q.where(Conflict.kind == kind)
            if open_only:
                q = q.where(col(Conflict.resolved_at).is_(None))
            q = q.order_by(col(Conflict.id))
            if limit:
                q = q.limit(limit)
            return list(s.exec(q))

    def conflict_counts(self, job: str | None = None) -> dict[str, dict[str, int]]:
        """Open entries per job and entity: the numbers every summary, ``status`` and ``conflicts list`` show."""
        with self.session() as s:
            q = select(Conflict.job, Conflict.entity, func.count()).where(col(Conflict.resolved_at).is_(None))
            if job:
                q = q.where(Conflict.job == job)
            rows = s.exec(q.group_by(Conflict.job, Conflict.entity))  # type: ignore[call-overload]
            counts: dict[str, dict[str, int]] = {}
            for job_name, entity, n in rows:
                counts.setdefault(job_name, {})[entity] = int(n)
            return counts

    def conflict(self, conflict_id: int) -> Conflict | None:
        with self.session() as s:
            return s.get(Conflict, conflict_id)

    def resolve_conflict(
        self, conflict_id: int, *, resolution: str, value: Any = None, by: str | None = None, applied: bool = False
    ) -> Conflict:
        with self.session() as s:
            c = s.get(Conflict, conflict_id)
            if c is None:
                raise StoreError(
                    f"no conflict with id {conflict_id}", hint="List them with: testplan-bridge conflicts list"
                )
            c.resolved_at = utcnow()
            c.resolution = resolution
            c.resolved_value = value
            c.resolved_by = by
            if applied:
                c.applied_at = utcnow()
            s.add(c)
            s.commit()
            s.refresh(c)
            return c

    def pending_resolutions(self, job: str, entity: str) -> list[Conflict]:
        """Resolutions a user made that the next run must apply to both sides."""
        with self.session() as s:
            q = select(Conflict).where(
                Conflict.job == job,
                Conflict.entity == entity,
                col(Conflict.resolved_at).is_not(None),
                col(Conflict.applied_at).is_(None),
            )
            return list(s.exec(q.order_by(col(Conflict.id))))

    def waivers(self, job: str, entity: str) -> list[Conflict]:
        """Cannot-represent entries a person resolved (loss accepted, or a value the side can hold given):
        they hold while the value they were about is unchanged."""
        with self.session() as s:
            q = select(Conflict).where(
                Conflict.job == job,
                Conflict.entity == entity,
                Conflict.kind == "cannot-represent",
                col(Conflict.resolution).in_(["accepted", "value"]),
            )
            return list(s.exec(q.order_by(col(Conflict.id))))

    def mark_applied(self, conflict_ids: Sequence[int]) -> None:
        if not conflict_ids:
            return
        with self.session() as s:
            for c in s.exec(select(Conflict).where(col(Conflict.id).in_(list(conflict_ids)))):
                c.applied_at = utcnow()
                s.add(c)
            s.commit()

    def close_conflicts(self, conflict_ids: Sequence[int], *, resolution: str = "auto", message: str = "") -> None:
        """Close entries that no longer hold (the sides agree again, the value fits, the record is gone)."""
        if not conflict_ids:
            return
        now = utcnow()
        with self.session() as s:
            for c in s.exec(select(Conflict).where(col(Conflict.id).in_(list(conflict_ids)))):
                if c.resolved_at is None:
                    c.resolved_at = c.applied_at = now
                    c.resolution = resolution
                    c.resolved_by = "testplan-bridge"
                    if message:
                        c.message = f"{c.message} ({message})" if c.message else message
                    s.add(c)
            s.commit()

    # ------------------------------------------------------------------------------------------ notes
    def hold_note(self, note: Note) -> Note:
        """Add a note, or refresh the one with the same key (job, entity, kind, record, field)."""
        with self.session() as s:
            q = select(Note).where(
                Note.job == note.job, Note.entity == note.entity, Note.kind == note.kind, Note.record == note.record
            )
            q = q.where(Note.field == note.field if note.field is not None else col(Note.field).is_(None))
            existing = s.exec(q).first()
            if existing is not None:
                existing.left_value, existing.right_value = note.left_value, note.right_value
                existing.message, existing.run_id, existing.last_seen_at = note.message, note.run_id, utcnow()
                note = existing
            s.add(note)
            s.commit()
            s.refresh(note)
            return note

    def notes(self, *, job: str | None = None, limit: int | None = None) -> list[Note]:
        with self.session() as s:
            q = select(Note)
            if job:
                q = q.where(Note.job == job)
            q = q.order_by(col(Note.id))
            if limit:
                q = q.limit(limit)
            return list(s.exec(q))
