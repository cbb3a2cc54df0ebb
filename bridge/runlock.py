"""One run of a job at a time, on every store, held by a lock the operating system or the database drops when
the process holding it dies.

Two runs of one job writing at once (a cron entry and a person, two CI jobs, a daemon and a manual sync) race
each other's creates: both see a case unlinked, both create it, and the store's unique links then refuse one
of them. So every run of a job takes the job's run lock first:

- **SQLite**: ``flock`` on ``<store>.locks/<job>.lock`` beside the store file. The kernel releases it when the
  holder's file descriptor closes, which includes SIGKILL and crashes, so a lock is never left behind and no
  stale-lock heuristics are needed. ``flock`` locks belong to an open file, not a process, so two threads of
  one daemon exclude each other too. Hand-written rather than with the ``filelock`` package: filelock
  truncates the file on every attempt, and the file is where the holder writes who it is and since when, so
  the refused run can say "job X is running in process P on H since T".
- **PostgreSQL**: a session advisory lock (``pg_try_advisory_lock``) on a dedicated connection, on a key
  derived from the job name; the server drops it with the session of a crashed process. The holder is named
  through ``application_name``, read back from ``pg_stat_activity``.

While the lock is held, a thread stamps the job's run row with a heartbeat, and on taking the lock the runs
that a dead process left "running" are marked aborted, as last seen at their last heartbeat.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, text

from bridge.errors import JobBusy, StoreError
from mappings.store import Store, instance_name
from mappings.tables import Run

log = logging.getLogger("bridge.runlock")

#: seconds between two heartbeats of a run in progress
HEARTBEAT_SECONDS = 30.0


def lock_key(job: str) -> int:
    """A signed 64-bit key from the job name (namespaced so other applications' advisory locks do not collide)."""
    digest = hashlib.sha256(b"testplan-bridge:job:" + job.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_path(store_file: Path, job: str) -> Path:
    """Where the run lock of ``job`` lives for a SQLite store (job names are ``[A-Za-z0-9_.-]+``)."""
    return store_file.with_name(store_file.name + ".locks") / f"{job}.lock"


class RunLock:
    """The run lock of one job on one store. ``acquire(wait=False)`` returns False when another run holds it."""

    def __init__(self, store: Store, job: str) -> None:
        self.store = store
        self.job = job
        self.key = lock_key(job)
        self._file: IO[str] | None = None
        self._conn: Connection | None = None
        self._memory: threading.Lock | None = None

    # ------------------------------------------------------------------------------------------ taking
    def acquire(self, *, wait: bool = False) -> bool:
        if not self.store.is_sqlite:
            return self._acquire_pg(wait)
        path = self.store.path
        if path is None:
            return self._acquire_memory(wait)
        return self._acquire_file(lock_path(path, self.job), wait)

    def _acquire_file(self, path: Path, wait: bool) -> bool:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot create the run lock {path}: {exc.strerror}",
                hint="The store's directory must be writable by the user running testplan-bridge.",
            ) from None
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.close()
            return False
        except BaseException:
            handle.close()
            raise
        # the holder says who it is; a refused run reads it (the lock, not the content, is what excludes).
        # Written over the old content, then cut: a full disk can still rewrite a block the file has.
        try:
            handle.seek(0)
            handle.write(json.dumps(_me()))
            handle.truncate()
            handle.flush()
        except OSError as exc:
            handle.close()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreError(
                    f"the disk holding the mapping store is full (writing {path}: {exc.strerror})",
                    hint="Free space on it, then run again: the next run continues where the last one stopped.",
                ) from None
            raise StoreError(f"cannot write the run lock {path}: {exc.strerror}") from None
        self._file = handle
        return True

    def _acquire_memory(self, wait: bool) -> bool:
        lock = _MEMORY_LOCKS.setdefault((id(self.store.engine), self.job), threading.Lock())
        if not lock.acquire(blocking=wait):
            return False
        self._memory = lock
        return True

    def _acquire_pg(self, wait: bool) -> bool:
        conn = self.store.engine.connect()
        try:
            me = _me()
            name = f"testplan-bridge process {me['pid']} on {me['host']}"[:63]  # application_name holds 63 bytes
            call = "pg_advisory_lock(:k)" if wait else "pg_try_advisory_lock(:k)"  # the first waits, returns void
            row = conn.execute(
                text(f"SELECT set_config('application_name', :name, false), {call}"), {"k": self.key, "name": name}
            ).one()
            got = wait or bool(row[1])
            conn.commit()  # a session lock outlives the transaction; do not sit "idle in transaction"
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    # ------------------------------------------------------------------------------------------ holder
    def holder(self) -> str:
        """Who holds the lock, in words: "process P on H since T" (or less, when that is not known)."""
        try:
            if not self.store.is_sqlite:
                return self._pg_holder()
            path = self.store.path
            if path is None:
                return "another thread of this process"
            info = json.loads(lock_path(path, self.job).read_text("utf-8") or "{}")
            if info["host"] == socket.gethostname() and not _alive(int(info["pid"])):
                return "another process"  # it took the lock and has not written its name over the last one's yet
            return f"process {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError, StoreError):
            return "another process"  # it took the lock and has not written its name yet

    def _pg_holder(self) -> str:
        hi, lo = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        with self.store.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT a.application_name, a.query_start, a.client_addr FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                    "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"
                ),
                {"hi": hi, "lo": lo},
            ).first()
        if row is None:
            return "another process"
        since = row[1].astimezone(UTC).isoformat(timespec="seconds") if row[1] else "?"
        who = str(row[0] or "").removeprefix("testplan-bridge ") or f"a session from {row[2] or 'this host'}"
        return f"{who} since {since}"

    # ----------------------------------------------------------------------------------------- leaving
    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()  # closing the descriptor drops the flock
        memory, self._memory = self._memory, None
        if memory is not None:
            memory.release()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                conn.execute(text("RESET application_name"))
                conn.commit()
                conn.close()
            except Exception as exc:
                # the connection broke: the server dropped the session and the lock with it; never reuse it
                log.warning(
                    "advisory unlock failed; discarding the connection", extra={"job": self.job, "error": str(exc)}
                )
                conn.invalidate()
                conn.close()


_MEMORY_LOCKS: dict[tuple[int, str], threading.Lock] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _me() -> dict[str, object]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def busy(job: str, holder: str) -> JobBusy:
    return JobBusy(
        f"job {job} is running in {holder}; this run did nothing",
        hint="Let it finish (testplan-bridge status shows its runs), or pass --wait to start right after it.",
    )


@contextmanager
def job_run(
    store: Store,
    job: str,
    *,
    wait: bool = False,
    on_wait: Callable[[str], None] | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> Iterator[list[Run]]:
    """Hold the run lock of ``job`` for the block; yields the runs a dead process left, now marked aborted.

    Busy without ``wait``: :class:`~bridge.errors.JobBusy` naming the holder. With ``wait``, ``on_wait(holder)``
    is told once and the block starts as soon as the holder is done.
    """
    lock = RunLock(store, job)
    if not lock.acquire():
        holder = lock.holder()
        if not wait:
            raise busy(job, holder)
        if on_wait is not None:
            on_wait(holder)
        lock.acquire(wait=True)
    beat = _Heartbeat(store, job, heartbeat_seconds)
    try:
        store.check_writable()  # a read-only store stops the run before it talks to any system
        stale = store.abort_stale_runs(job)
        for run in stale:
            log.warning(
                "a run left behind by a process that stopped was marked aborted",
                extra={"job": job, "run_id": run.id, "instance": run.instance, "last_seen": str(run.finished_at)},
            )
        beat.start()
        yield stale
    finally:
        beat.stop()
        lock.release()


class _Heartbeat:
    """Stamps the job's running run of this process every few seconds, so a dead one can be told apart."""

    def __init__(self, store: Store, job: str, every: float) -> None:
        self.store = store
        self.job = job
        self.every = every
        self.instance = instance_name()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"tpb-heartbeat-{job}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.store.heartbeat(self.job, self.instance)
            except Exception as exc:  # a store that went away is the run's problem to report, not this thread's
                log.warning("run heartbeat failed", extra={"job": self.job, "error": str(exc)[:200]})
