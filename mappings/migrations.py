"""Versioned schema migrations, so users upgrading keep their store.

Each migration is a function applied once, in order, inside a transaction; the versions applied are kept in
``tpb_schema_version``. A store written by a newer release is refused rather than guessed at. Two processes
opening a store at once (a cron run and a person, several daemons) never migrate twice: on PostgreSQL the
upgrade holds an advisory lock; on SQLite it runs in a ``BEGIN IMMEDIATE`` transaction, which takes the
database's write lock before the version is read (the second process waits, then finds the schema current).
Python's sqlite3 module would otherwise commit each ``CREATE TABLE`` on its own, outside any transaction.

Rule for later changes: never edit an applied migration; add the next one (ALTER TABLE ... with a check that
the column is not there yet, since version 1 creates tables from the current models with ``checkfirst``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, inspect, select, text, update

from bridge.errors import StoreError
from mappings.link_hashes import pack_right
from mappings.tables import Conflict, Intent, Link, Note, ReadMark, ResultCopy, Run, SchemaVersion, utcnow

_MIGRATION_LOCK_KEY = 0x7470627231  # "tpbr1": advisory lock id for schema upgrades


def _v1_initial(conn: Connection) -> None:
    for table in (Link, Conflict, Run, Intent, ResultCopy):
        table.__table__.create(conn, checkfirst=True)  # type: ignore[union-attr]


def _v2_firings(conn: Connection) -> None:
    from mappings.tables_daemon import Firing

    Firing.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v3_read_marks(conn: Connection) -> None:
    ReadMark.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v4_run_heartbeat(conn: Connection) -> None:
    columns = {c["name"] for c in inspect(conn).get_columns(Run.__tablename__)}
    if "heartbeat_at" not in columns:  # a store created at version 4 or later has it from version 1
        kind = Run.__table__.c.heartbeat_at.type.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
        conn.execute(text(f"ALTER TABLE {Run.__tablename__} ADD COLUMN heartbeat_at {kind}"))


def _add_missing_columns(conn: Connection, table: Any) -> None:
    """ALTER TABLE ... ADD COLUMN for the model's columns the table lacks (all of them nullable)."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


def _v5_conflict_lifecycle(conn: Connection) -> None:
    """One entry per record, field and kind, updated in place (subject, side, value hash, last seen); notes
    in a table of their own. Entries written before keep their history: lossy-write notes move to
    ``tpb_note``, open entries get their subject from their ids, and open cannot-represent entries (which
    carried no stable key) are closed: the next run opens them again, once, if they still hold."""
    table = Conflict.__table__  # type: ignore[attr-defined]
    _add_missing_columns(conn, table)
    for index in table.indexes:
        index.create(conn, checkfirst=True)
    Note.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    conn.execute(
        text(
            "INSERT INTO tpb_note (job, entity, kind, record, field, left_value, right_value, message, run_id,"
            " created_at, last_seen_at)"
            " SELECT job, entity, kind, record, field, left_value, right_value, message, run_id,"
            " detected_at, detected_at FROM tpb_conflict WHERE kind = 'lossy-write'"
        )
    )
    conn.execute(text("DELETE FROM tpb_conflict WHERE kind = 'lossy-write'"))
    conn.execute(
        text("UPDATE tpb_conflict SET subject = 'key:' || record WHERE kind = 'ambiguous-match' AND subject IS NULL")
    )
    conn.execute(
        text("UPDATE tpb_conflict SET subject = 'left:' || left_id WHERE subject IS NULL AND left_id IS NOT NULL")
    )
    conn.execute(
        text("UPDATE tpb_conflict SET subject = 'right:' || right_id WHERE subject IS NULL AND right_id IS NOT NULL")
    )
    now = utcnow()
    conn.execute(
        text(
            "UPDATE tpb_conflict SET resolved_at = :now, applied_at = :now, resolution = 'auto',"
            " resolved_by = 'testplan-bridge'"
            " WHERE kind = 'cannot-represent' AND resolved_at IS NULL"
        ),
        {"now": now},
    )


def _v6_run_firing(conn: Connection) -> None:
    _add_missing_columns(conn, Run.__table__)  # type: ignore[attr-defined]


def _v7_no_link_job_index(conn: Connection) -> None:
    """Drop ``ix_tpb_link_job``: ``uq_link_left`` (job, entity, left id) answers a query by job as well, and the
    extra index cost every batch of created links a few pages more to write."""
    conn.execute(text("DROP INDEX IF EXISTS ix_tpb_link_job"))


def _v8_right_hashes_as_changes(conn: Connection) -> None:
    """Store each link's right-side hashes as what differs from its left side's (:mod:`mappings.link_hashes`),
    a third less of a link row to write; both hashes columns are rewritten as compact JSON on the way (rows
    from releases before it hold ``json.dumps`` text). In chunks, so a large store is never all in memory."""
    table = Link.__table__  # type: ignore[attr-defined]
    q = update(table).where(table.c.id == bindparam("link_id"))
    q = q.values(left_hashes=bindparam("left"), right_hashes=bindparam("right"))
    last = 0
    while True:
        rows = conn.execute(
            select(table.c.id, table.c.left_hashes, table.c.right_hashes)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(1000)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        changed = [
            {"link_id": link_id, "left": left or {}, "right": pack_right(left or {}, right or {})}
            for link_id, left, right in rows
            if isinstance(right, dict)  # (a list is stored as changes already)
        ]
        if changed:
            conn.execute(q, changed)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "links, conflicts, runs, intents, result copies", _v1_initial),
    (2, "daemon firings (one run per scheduled firing across instances)", _v2_firings),
    (3, "read marks (incremental reads)", _v3_read_marks),
    (4, "run heartbeats (runs of a dead process are marked aborted)", _v4_run_heartbeat),
    (5, "one conflict entry per record, field and kind; notes apart", _v5_conflict_lifecycle),
    (6, "each run names the daemon firing it carries out", _v6_run_firing),
    (7, "no separate index of links by job", _v7_no_link_job_index),
    (8, "a link's right-side hashes stored as what differs from its left side's", _v8_right_hashes_as_changes),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table(SchemaVersion.__tablename__):
        return 0
    versions = conn.execute(select(SchemaVersion.version)).scalars().all()  # type: ignore[call-overload]
    return max(versions, default=0)


def upgrade(engine: Engine) -> list[int]:
    """Apply the missing migrations; return the versions applied (empty when up to date)."""
    if engine.dialect.name == "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if _up_to_date(conn):  # the common case writes nothing: a read-only store still opens for reading
                return []
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                applied = _apply(conn)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
            return applied
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        return _apply(conn)


def _up_to_date(conn: Connection) -> bool:
    version = current_version(conn)
    _refuse_newer(version)
    return version == LATEST


def _refuse_newer(version: int) -> None:
    if version > LATEST:
        raise StoreError(
            f"the store is at schema version {version}, newer than this testplan-bridge knows ({LATEST})",
            hint="Upgrade testplan-bridge, or point [store] url at another database.",
        )


def _apply(conn: Connection) -> list[int]:
    """The missing migrations, inside the caller's transaction (which holds the upgrade lock)."""
    SchemaVersion.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    version = current_version(conn)
    _refuse_newer(version)
    applied: list[int] = []
    for number, _description, apply in MIGRATIONS:
        if number <= version:
            continue
        apply(conn)
        conn.execute(SchemaVersion.__table__.insert().values(version=number))  # type: ignore[attr-defined]
        applied.append(number)
    return applied
