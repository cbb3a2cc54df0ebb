"""The mapping store: links, base snapshots, conflict log (:mod:`mappings.store_conflicts`), run history, write
intents, result copies.

SQLite by default (WAL, so readers do not block the writer), PostgreSQL by URL for several daemon instances.
Every method is its own short transaction, so the store is safe to use from the engine's worker threads.

A new SQLite file is created readable by its owner only (0600; SQLite gives its -wal and -shm files the same
mode): it holds case content. A store that cannot be written (a read-only file or directory, a full disk, a
database server refusing writes) raises :class:`~bridge.errors.StoreError` naming the store and what to do,
at the first write; a run's first write comes before any remote write, so nothing is sent that the store
could not record.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Connection, Engine, Text, bindparam, cast, create_engine, event, func, insert, update
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bridge.errors import StoreError
from mappings.link_hashes import SAME_AS_LEFT, pack_right, unpack_right
from mappings.migrations import upgrade
from mappings.store_conflicts import ConflictRecords
from mappings.tables import Intent, Link, LinkRef, ReadMark, ResultCopy, Run, as_utc, utcnow
from mappings.tables_daemon import Firing

#: the states a link has (mappings.tables.Link.state), one string each for every link summary read
_STATES = {state: state for state in ("active", "unlinked")}


# JSON columns are written without the spaces json.dumps puts after "," and ":" by default: a link's base and
# hashes are most of its row, and the spaces were 5% of it (a link row then just missed fitting five to a page)
_JSON_TEXT = json.JSONEncoder(separators=(",", ":"))


def json_text(value: Any) -> str:
    """The text the store writes for a JSON column value (read back by any JSON parser)."""
    return _JSON_TEXT.encode(value)


def hashes_digest(stored_json: str | None) -> bytes:
    """A digest of per-field hashes as the store holds them (JSON text): equal digests, equal hashes. A sync
    compares it with ``hashes_digest(json_text(current hashes))`` (a store written before JSON was compact holds
    ``json.dumps`` text: see :func:`bridge.sync.unchanged.same_hashes`); a different key order only makes the
    pair look changed, which costs a merge that finds nothing, never a missed change."""
    return hashlib.blake2b((stored_json or "{}").encode("utf-8"), digest_size=16).digest()


def right_hashes_digest(left_json: str | None, right_json: str | None, left_digest: bytes) -> bytes:
    """:func:`hashes_digest` of the right side's hashes as if stored in full, from the JSON text of both hashes
    columns (the right's is stored as what differs from the left's: :mod:`mappings.link_hashes`)."""
    if right_json is None or not right_json.startswith("["):
        return hashes_digest(right_json)
    if right_json == SAME_AS_LEFT:
        # the same hashes in the same order: the left's text is the right's
        return left_digest
    right = unpack_right(json.loads(left_json or "{}"), json.loads(right_json))
    return hashes_digest(json_text(right))


_link_id = operator.attrgetter("id")

#: the columns of a new link row (:meth:`Store.insert_links`)
LINK_ROW = (
    "job", "entity", "left_id", "right_id", "marker", "state", "base", "left_hashes", "right_hashes", "created_at"
)  # fmt: skip


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` store, also in the URI form ``sqlite:///file:PATH?mode=ro&uri=true``
    (None for an in-memory store or another database)."""
    if not url.startswith("sqlite") or "///" not in url:
        return None
    path = unquote(url.split("///", 1)[1].split("?", 1)[0]).removeprefix("file:")
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser()


def _create_private(path: Path) -> None:
    """Create an empty store file readable by its owner only (an empty file is a valid empty database)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # someone else's choice of mode is kept


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None and "file:" not in url:  # a URI names an existing file and how to open it
            _create_private(path)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, json_serializer=json_text)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            # (a new file only: a database keeps the page size it was created with) a link row with its base
            # and hashes is ~1.6 KB, so 4 KB pages hold two of them; 8 KB pages hold five: a fifth less to
            # write per link, and the WAL writes every page twice
            cur.execute("PRAGMA page_size=8192")
            _use_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, json_serializer=json_text)


def _use_wal(cur: Any) -> None:
    """Switch a new file to WAL (persistent: later connections find it so). The switch needs the file to
    itself and SQLite answers "database is locked" at once, without its busy wait, when a second process opens
    the new file at the same moment: wait for the other opener here instead."""
    deadline = time.monotonic() + 30
    while cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cur.execute("PRAGMA journal_mode=WAL")  # an in-memory database answers "memory": fine, and final
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Store(ConflictRecords):
    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        try:
            self.engine = engine if engine is not None else make_engine(url)
            upgrade(self.engine)
        except (OperationalError, DatabaseError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise store_error(url, exc, opening=True) from None
        except OSError as exc:  # the store's directory cannot be created
            raise StoreError(
                f"cannot create the mapping store at {_safe_url(url)}: {exc.strerror}: {exc.filename}",
                hint="Point [store] url at a directory the user running testplan-bridge can write to.",
            ) from None
        # SQLite allows one writer; serialising our own writers avoids busy waits between threads
        self._write_lock = threading.RLock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for PostgreSQL or an in-memory store)."""
        return sqlite_path(self.url) if self.is_sqlite else None

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """The store's write lock (where the engine needs one) and its errors in plain words, around one unit
        of work; integrity errors pass through for the callers that handle a concurrent link."""
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            yield
        except (OperationalError, DatabaseError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise store_error(self.url, exc) from None
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._guarded(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One Core transaction (committed at the end): for the bulk paths, which need no ORM objects."""
        with self._guarded(), self.engine.begin() as conn:
            yield conn

    def check_writable(self) -> None:
        """Raise StoreError now if the store cannot take a write (read-only file, directory or server), so a
        run stops before it talks to any system. Writes nothing: an update of no row, rolled back."""
        with self.session() as s:
            s.execute(update(Run).where(col(Run.id) == -1).values(status="running"))
            s.rollback()

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

    def link_summaries(self, job: str, entity: str) -> tuple[list[LinkRef], dict[int, tuple[bytes, bytes]]]:
        """The job's links without their agreed state (nor marker), and per link id a digest of each side's
        stored hashes (:func:`hashes_digest` of the JSON as stored): what a sync needs to tell an unchanged pair
        from one to merge, at a fraction of the memory and CPU. The pairs to merge get their full links from
        :meth:`links_by_id`."""
        table = Link.__table__  # type: ignore[attr-defined]
        cols = [table.c[name] for name in ("id", "left_id", "right_id", "state")]
        # in id order, sorted here: SQLite finds the job's rows through a (job, entity, ...) index, and its ORDER
        # BY id sorted the rows hashes and all, spilling ~1 KB a link to a temporary file (a no-change sync of
        # 10,000 cases wrote 10 MB)
        q = select(*cols, cast(table.c.left_hashes, Text), cast(table.c.right_hashes, Text)).where(  # type: ignore[call-overload]
            table.c.job == job, table.c.entity == entity
        )
        links: list[LinkRef] = []
        digests: dict[int, tuple[bytes, bytes]] = {}
        with self.engine.connect() as conn:
            for link_id, left_id, right_id, state, lh, rh in conn.execute(q):
                # the job, entity and state strings shared, not one copy per row, and no marker (a sync finds
                # records by the markers it derives from ids): 30,000 links, 7 MB less
                links.append(LinkRef(link_id, job, entity, left_id, right_id, None, _STATES.get(state, state)))
                left = hashes_digest(lh)
                digests[link_id] = (left, right_hashes_digest(lh, rh, left))
        links.sort(key=_link_id)
        return links, digests

    def links_by_id(self, ids: Sequence[int]) -> dict[int, Link]:
        """Full links by id, read in chunks (a statement takes a bounded number of parameters)."""
        found: dict[int, Link] = {}
        with self.session() as s:
            for first in range(0, len(ids), 500):
                chunk = list(ids[first : first + 500])
                for link in s.exec(select(Link).where(col(Link.id).in_(chunk))):
                    found[link.id] = link  # type: ignore[index]
        return found

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

    def add_links(self, links: Sequence[Link], resolved: Sequence[tuple[int, str]] = ()) -> None:
        """Insert new links and close write intents (``(intent id, outcome)``), all in one transaction: a
        batch of creates costs one commit. Raises IntegrityError, with nothing saved, when one of the links
        collides with a link saved meanwhile (the caller then saves them one at a time)."""
        rows = [{name: getattr(lk, name) for name in LINK_ROW} for lk in links]
        ids = self.insert_links(rows, resolved)
        for link, row, new_id in zip(links, rows, ids, strict=True):
            link.id, link.updated_at = new_id, row["updated_at"]

    def insert_links(self, rows: Sequence[dict[str, Any]], resolved: Sequence[tuple[int, str]] = ()) -> list[int]:
        """:meth:`add_links` for links as rows (the :data:`LINK_ROW` columns; ``state`` and ``created_at``
        may be left out): a migration saves thousands, and building a ``Link`` model costs more than the
        insert. Sets each row's ``updated_at``; returns the new ids in the order of ``rows``."""
        if not rows and not resolved:
            return []
        now = utcnow()
        for row in rows:
            row.setdefault("state", "active")
            row.setdefault("created_at", now)
            row["updated_at"] = now
        # the right side's hashes stored as what differs from the left's; the callers' rows keep them in full
        params = [row | {"right_hashes": pack_right(row["left_hashes"], row["right_hashes"])} for row in rows]
        table = Link.__table__  # type: ignore[attr-defined]
        ids: list[int] = []
        with self.transaction() as conn:
            if rows:
                q = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                ids = [int(row[0]) for row in conn.execute(q, params)]
            self._close_intents(conn, resolved, now)
        return ids

    @staticmethod
    def _close_intents(conn: Connection, resolved: Sequence[tuple[int, str]], now: datetime) -> None:
        if not resolved:
            return
        table = Intent.__table__  # type: ignore[attr-defined]
        q = (
            update(table)
            .where(table.c.id == bindparam("intent_id"), table.c.resolved_at.is_(None))
            .values(resolved_at=now, outcome=bindparam("intent_outcome"))
        )
        conn.execute(q, [{"intent_id": i, "intent_outcome": o} for i, o in resolved])

    def resolve_intents(self, resolved: Sequence[tuple[int, str]]) -> None:
        """Close several write intents in one transaction."""
        if resolved:
            with self.transaction() as conn:
                self._close_intents(conn, resolved, utcnow())

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

    def record_intents(self, job: str, entity: str, sources: Sequence[tuple[str, str, str]]) -> list[int]:
        """Record (commit) the intents of a batch of creates, ``(target side, source id, marker)`` each, in one
        transaction; their ids, in the same order. Committed before any create of the batch is sent."""
        if not sources:
            return []
        now = utcnow()
        table = Intent.__table__  # type: ignore[attr-defined]
        rows = [
            {"job": job, "entity": entity, "target_side": t, "source_id": sid, "marker": m, "created_at": now}
            for t, sid, m in sources
        ]
        with self.transaction() as conn:
            q = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return [int(row[0]) for row in conn.execute(q, rows)]

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

    # ------------------------------------------------------------------------------------------- runs
    def start_run(self, job: str, *, kind: str = "sync", dry_run: bool = False, firing_id: int | None = None) -> Run:
        with self.session() as s:
            run = Run(job=job, kind=kind, dry_run=dry_run, instance=instance_name(), firing_id=firing_id)
            run.heartbeat_at = run.started_at
            s.add(run)
            s.commit()
            s.refresh(run)
            return run

    def heartbeat(self, job: str, instance: str) -> int:
        """Mark the runs of ``job`` this instance has in progress as alive now; returns how many."""
        with self.session() as s:
            result = s.execute(
                update(Run)
                .where(col(Run.job) == job, col(Run.status) == "running", col(Run.instance) == instance)
                .values(heartbeat_at=utcnow())
            )
            s.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def abort_stale_runs(self, job: str) -> list[Run]:
        """Mark the runs of ``job`` still "running" as aborted, as last seen at their heartbeat.

        Only for a caller that holds the job's run lock (:mod:`bridge.runlock`): then no live process runs the
        job, and a "running" row is what a process that died (SIGKILL, power cut, OOM) left behind.
        """
        with self.session() as s:
            stale = list(s.exec(select(Run).where(Run.job == job, Run.status == "running")))
            for run in stale:
                seen = as_utc(run.heartbeat_at or run.started_at)
                run.status = "aborted"
                run.finished_at = seen
                run.duration_s = (seen - as_utc(run.started_at)).total_seconds()
                run.errors = [
                    *run.errors,
                    f"the process running it ({run.instance or 'unknown'}) stopped without finishing; "
                    f"last seen {seen.isoformat(timespec='seconds')}",
                ]
                s.add(run)
            if stale:
                s.commit()
            return stale

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

    def firing_id(self, job: str, scheduled_for: datetime) -> int | None:
        """The id of the claimed firing of ``job`` at ``scheduled_for`` (the key the claim made unique)."""
        with self.session() as s:
            q = select(Firing.id).where(col(Firing.job) == job, col(Firing.scheduled_for) == scheduled_for)
            return s.exec(q).first()

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


#: what a failed store operation means, by SQLite result code / PostgreSQL SQLSTATE, and what to do about it
_SQLITE_REASONS = {
    "SQLITE_READONLY": (
        "is read-only",
        "Give the user running testplan-bridge write access to the file and its "
        "directory (SQLite writes -wal and -shm files beside it), or point [store] url elsewhere.",
    ),
    "SQLITE_FULL": (
        "cannot grow: the disk is full",
        "Free space on the disk holding the store, then run again: the next run continues where this one stopped.",
    ),
    "SQLITE_CANTOPEN": (
        "cannot be opened",
        "Check that the file and its directory exist and are readable and "
        "writable by the user running testplan-bridge.",
    ),
    "SQLITE_NOTADB": ("is not a SQLite database", "Point [store] url at the store file testplan-bridge created."),
    "SQLITE_CORRUPT": ("is damaged", "Restore the store from a backup; `sqlite3 FILE .recover` may save its data."),
    "SQLITE_BUSY": (
        "was locked by another process for more than 30 seconds",
        "Run again when the other process (another sync, a backup, a sqlite3 shell) has finished with it.",
    ),
    "SQLITE_IOERR": ("could not be read or written (I/O error)", "Check the disk (space, errors) and run again."),
    "SQLITE_PERM": ("is not accessible", "Give the user running testplan-bridge access to the file."),
}
_POSTGRES_REASONS = {
    "53100": (
        "cannot grow: the database server's disk is full",
        "Free space on the database server, then run again: the next run continues where this one stopped.",
    ),
    "25006": ("is read-only (a standby or a read-only transaction)", "Point [store] url at the primary server."),
    "42501": ("refuses this user", "Grant the store's user the rights on its tables (see docs/daemon.md)."),
    "57P03": ("is starting up or shutting down", "Run again once the database server is up."),
}


def store_error(url: str, exc: DatabaseError, *, opening: bool = False) -> StoreError:
    """A StoreError saying what the database said, in words that name the store and what to do."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", None) or getattr(orig, "sqlstate", None) or ""
    table = _SQLITE_REASONS if url.startswith("sqlite") else _POSTGRES_REASONS
    reason = next((v for k, v in table.items() if code == k or code.startswith(k + "_")), None)
    if code.startswith("SQLITE_IOERR") and _disk_full(sqlite_path(url)):
        # a full disk reaches SQLite as an I/O error when it hits the -shm or -wal file rather than the database
        reason = _SQLITE_REASONS["SQLITE_FULL"]
    where = f"the mapping store at {_safe_url(url)}"
    if reason is not None:
        return StoreError(f"{where} {reason[0]} ({orig})", hint=reason[1])
    return StoreError(
        f"{'cannot open ' if opening else ''}{where}{'' if opening else ' failed'}: {orig}",
        hint="Check [store] url in the config (and that the database server is running).",
    )


def _disk_full(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False


def _safe_url(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
