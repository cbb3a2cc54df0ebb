"""Per-job run lock across daemon instances: a PostgreSQL session advisory lock on a dedicated connection.

``claim_firing`` makes each firing run once; this lock makes runs of one job never overlap across instances
(a slow run of the 10:00 firing on one machine must not meet the 10:15 firing's run on another, or both would
write the same job's links). The lock lives as long as the connection, so a crashed instance's lock is gone as
soon as PostgreSQL notices the dropped connection, and another instance takes the job at its next firing.
SQLite stores serve one daemon, whose scheduler already never overlaps a job with itself.
"""

from __future__ import annotations

import hashlib
import logging
from types import TracebackType

from sqlalchemy import Connection, text

from mappings.store import Store

log = logging.getLogger("bridge.daemon")


def lock_key(job: str) -> int:
    """A signed 64-bit key from the job name (namespaced so other applications' advisory locks do not collide)."""
    digest = hashlib.sha256(b"testplan-bridge:job:" + job.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class JobLock:
    def __init__(self, store: Store, job: str) -> None:
        self.store = store
        self.job = job
        self.key = lock_key(job)
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self.store.is_sqlite:
            return True
        conn = self.store.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            conn.commit()  # a session lock outlives the transaction; do not sit "idle in transaction"
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            conn.commit()
            conn.close()
        except Exception as exc:
            # the connection broke: the server dropped the session and the lock with it; never reuse it
            log.warning("advisory unlock failed; discarding the connection", extra={"job": self.job, "error": str(exc)})
            conn.invalidate()
            conn.close()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
