"""The mapping store: links, base snapshots, conflict log, run history, write intents, result copies.

SQLite by default (WAL, so readers do not block the writer), PostgreSQL by URL for several daemon instances.
Every method is its own short transaction, so the store is safe to use from the engine's worker threads.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bridge.errors import StoreError
from mappings.migrations import upgrade
from mappings.tables import Conflict, Intent, Link, ReadMark, ResultCopy, Run, as_utc, utcnow
from mappings.tables_daemon import Firing


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
            upgrade(self.engine)
        except OperationalError as exc:
            raise StoreError(
                f"cannot open the mapping store at {_safe_url(url)}: {exc.orig}",
                hint="Check [store] url in the config (and that the database server is running).",
            ) from None
        # SQLite allows one writer; serialising our own writers avoids busy waits between threads
        self._write_lock = threading.RLock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        finally:
            if lock is not None:
                lock.release()

    def ping(self) -> bool:
        try:
            with self.session() as s:
                s.exec(select(func.count()).select_from(Run))  # type: ignore[call-overload]
            return True
        except Exception:
            return False

    # ------------------------------------------------------------------------------------------ links
    def links(self, job: str, entity: str) -> list[Link]:
        with self.session() as s:
            return list(s.exec(select(Link).where(Link.job == job, Link.entity == entity)))

    def active_link_ids(self, job: str, entity: str) -> list[tuple[str, str]]:
        """(left id, right id) of the job's active links: ids only (a CI push needs no agreed state), and no
        tombstones (an unlinked pair names no case any more)."""
        with self.session() as s:
            q = select(Link.left_id, Link.right_id).where(
                Link.job == job, Link.entity == entity, Link.state == "active"
            )
            return [(str(left), str(right)) for left, right in s.exec(q)]

    def link_count(self, job: str | None = None) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(Link)
            if job:
                q = q.where(Link.job == job)
            return int(s.exec(q).one())  # type: ignore[call-overload]

    def find_link(
        self, job: str, entity: str, *, left_id: str | None = None, right_id: str | None = None
    ) -> Link | None:
        with self.session() as s:
            q = select(Link).where(Link.job == job, Link.entity == entity)
            if left_id is not None:
                q = q.where(Link.left_id == left_id)
            if right_id is not None:
                q = q.where(Link.right_id == right_id)
            return s.exec(q).first()

    def save_link(self, link: Link, *, resolve_intent: int | None = None, outcome: str | None = None) -> Link:
        """Insert or update a link; optionally close a write intent in the same transaction."""
        link.updated_at = utcnow()
        with self.session() as s:
            # a new link is inserted as it is (merge would SELECT it first: a migration saves thousands)
            saved = s.merge(link) if link.id is not None else link
            s.add(saved)
            if resolve_intent is not None:
                s.execute(
                    update(Intent)
                    .where(col(Intent.id) == resolve_intent, col(Intent.resolved_at).is_(None))
                    .values(resolved_at=utcnow(), outcome=outcome)
                )
            s.commit()
            return saved

    def delete_link(self, link: Link) -> None:
        with self.session() as s:
            found = s.get(Link, link.id)
            if found is not None:
                s.delete(found)
                s.commit()

    # ---------------------------------------------------------------------------------------- intents
    def record_intent(self, job: str, entity: str, target_side: str, source_id: str, marker: str) -> Intent:
        with self.session() as s:
            intent = Intent(job=job, entity=entity, target_side=target_side, source_id=source_id, marker=marker)
            s.add(intent)
            s.commit()  # the id is filled by the flush; no need to read the row back
            return intent

    def open_intents(self, job: str, entity: str | None = None) -> list[Intent]:
        with self.session() as s:
            q = select(Intent).where(Intent.job == job, col(Intent.resolved_at).is_(None))
            if entity:
                q = q.where(Intent.entity == entity)
            return list(s.exec(q.order_by(col(Intent.id))))

    def resolve_intent(self, intent_id: int, outcome: str) -> None:
        with self.session() as s:
            intent = s.get(Intent, intent_id)
            if intent is not None and intent.resolved_at is None:
                intent.resolved_at = utcnow()
                intent.outcome = outcome
                s.add(intent)
                s.commit()

    # -------------------------------------------------------------------------------------- conflicts
    def log_conflict(self, conflict: Conflict) -> Conflict:
        """Log a conflict unless the same one is open already (then refresh its values and return it)."""
        with self.session() as s:
            q = select(Conflict).where(
                Conflict.job == conflict.job,
                Conflict.entity == conflict.entity,
                Conflict.kind == conflict.kind,
                Conflict.record == conflict.record,
                col(Conflict.resolved_at).is_(None),
            )
            q = q.where(
                Conflict.field == conflict.field if conflict.field is not None else col(Conflict.field).is_(None)
            )
            existing = s.exec(q).first()
            if existing is not None:
                existing.left_value = conflict.left_value
                existing.right_value = conflict.right_value
                existing.message = conflict.message or existing.message
                existing.left_id = conflict.left_id or existing.left_id
                existing.right_id = conflict.right_id or existing.right_id
                s.add(existing)
                s.commit()
                s.refresh(existing)
                return existing
            s.add(conflict)
            s.commit()
            s.refresh(conflict)
            return conflict

    def conflicts(self, *, job: str | None = None, open_only: bool = True, limit: int | None = None) -> list[Conflict]:
        with self.session() as s:
            q = select(Conflict)
            if job:
                q = q.where(Conflict.job == job)
            if open_only:
                q = q.where(col(Conflict.resolved_at).is_(None))
            q = q.order_by(col(Conflict.id))
            if limit:
                q = q.limit(limit)
            return list(s.exec(q))

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
            return list(s.exec(q))

    def mark_applied(self, conflict_ids: Sequence[int]) -> None:
        if not conflict_ids:
            return
        with self.session() as s:
            for c in s.exec(select(Conflict).where(col(Conflict.id).in_(list(conflict_ids)))):
                c.applied_at = utcnow()
                s.add(c)
            s.commit()

    def auto_resolve(self, job: str, entity: str, record: str, fields: Sequence[str | None]) -> None:
        """Close open conflicts whose field is no longer in conflict (the sides became equal)."""
        with self.session() as s:
            q = select(Conflict).where(
                Conflict.job == job,
                Conflict.entity == entity,
                Conflict.record == record,
                col(Conflict.resolved_at).is_(None),
                col(Conflict.kind).in_(["edit", "first-sight"]),
            )
            changed = False
            for c in s.exec(q):
                if c.field in fields:
                    c.resolved_at = utcnow()
                    c.applied_at = c.resolved_at
                    c.resolution = "auto"
                    c.resolved_by = "testplan-bridge"
                    s.add(c)
                    changed = True
            if changed:
                s.commit()

    # ------------------------------------------------------------------------------------------- runs
    def start_run(self, job: str, *, kind: str = "sync", dry_run: bool = False) -> Run:
        with self.session() as s:
            run = Run(job=job, kind=kind, dry_run=dry_run, instance=instance_name())
            s.add(run)
            s.commit()
            s.refresh(run)
            return run

    def finish_run(self, run: Run, *, status: str, counts: dict[str, Any], errors: list[str]) -> Run:
        with self.session() as s:
            found = s.get(Run, run.id)
            assert found is not None
            found.finished_at = utcnow()
            found.status = status
            found.counts = counts
            found.errors = errors[:200]
            found.duration_s = (found.finished_at - found.started_at).total_seconds()
            s.add(found)
            s.commit()
            s.refresh(found)
            return found

    def runs(self, *, job: str | None = None, limit: int = 20) -> list[Run]:
        with self.session() as s:
            q = select(Run)
            if job:
                q = q.where(Run.job == job)
            return list(s.exec(q.order_by(col(Run.id).desc()).limit(limit)))

    def last_success(self, job: str) -> Run | None:
        with self.session() as s:
            q = select(Run).where(Run.job == job, Run.status == "ok", Run.dry_run == False)  # noqa: E712
            return s.exec(q.order_by(col(Run.id).desc()).limit(1)).first()

    # ----------------------------------------------------------------------------------- result copies
    def copied_results(self, job: str) -> tuple[set[tuple[str, str]], set[str], set[str]]:
        """(source side, source id) pairs already copied, the ``side:id`` of results the bridge created, and
        the markers those copies carry (a second way to recognise our own copies when reading them back)."""
        with self.session() as s:
            rows = list(s.exec(select(ResultCopy).where(ResultCopy.job == job)))
        sources = {(r.source_side, r.source_id) for r in rows}
        targets = {f"{'right' if r.source_side == 'left' else 'left'}:{r.target_id}" for r in rows if r.target_id}
        marks = {r.marker for r in rows if r.marker} | {r.fingerprint for r in rows if r.fingerprint}
        return sources, targets, marks

    def record_result_copies(self, copies: Sequence[ResultCopy]) -> None:
        if not copies:
            return
        with self.session() as s:
            for copy in copies:
                s.add(copy)
            try:
                s.commit()
            except IntegrityError:
                # copied already by an earlier, interrupted run: keep the first record of it
                s.rollback()
                for copy in copies:
                    try:
                        s.add(ResultCopy(**copy.model_dump(exclude={"id"})))
                        s.commit()
                    except IntegrityError:
                        s.rollback()

    # ---------------------------------------------------------------------------------------- read marks
    def read_mark(self, job: str, side: str, entity: str) -> ReadMark | None:
        with self.session() as s:
            q = select(ReadMark).where(ReadMark.job == job, ReadMark.side == side, ReadMark.entity == entity)
            return s.exec(q).first()

    def save_read_mark(
        self, job: str, side: str, entity: str, *, watermark: datetime, full_read_at: datetime | None
    ) -> None:
        """Move the mark forward (never back); ``full_read_at`` None keeps the last full read's time."""
        with self.session() as s:
            q = select(ReadMark).where(ReadMark.job == job, ReadMark.side == side, ReadMark.entity == entity)
            mark = s.exec(q).first()
            if mark is None:
                first = full_read_at or utcnow()
                mark = ReadMark(job=job, side=side, entity=entity, watermark=watermark, full_read_at=first)
            else:
                mark.watermark = max(as_utc(mark.watermark), as_utc(watermark))
                if full_read_at is not None:
                    mark.full_read_at = full_read_at
            s.add(mark)
            s.commit()

    def forget_read_marks(self, job: str) -> None:
        """The next run reads every side in full (after links were reset or the scope changed)."""
        with self.session() as s:
            for mark in s.exec(select(ReadMark).where(ReadMark.job == job)):
                s.delete(mark)
            s.commit()

    # ------------------------------------------------------------------------------------------ firings
    def claim_firing(self, job: str, scheduled_for: datetime, instance: str) -> bool:
        """True for exactly one caller per (job, scheduled firing), across every instance on this store."""
        with self.session() as s:
            s.add(Firing(job=job, scheduled_for=scheduled_for, instance=instance))
            try:
                s.commit()
                return True
            except IntegrityError:
                s.rollback()
                return False

    def record_firing_run(self, job: str, scheduled_for: datetime, run_id: int | None) -> None:
        """Tie a claimed firing to the run it produced (ops can then go from a firing to its outcome)."""
        if run_id is None:
            return
        with self.session() as s:
            s.execute(
                update(Firing)
                .where(col(Firing.job) == job, col(Firing.scheduled_for) == scheduled_for)
                .values(run_id=run_id)
            )
            s.commit()

    def firings(self, job: str | None = None) -> list[Firing]:
        with self.session() as s:
            q = select(Firing)
            if job:
                q = q.where(Firing.job == job)
            return list(s.exec(q.order_by(col(Firing.id))))


def _safe_url(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
