"""The SQLite store under hostile conditions: processes racing to create it, its file mode, an old schema,
and the runs a dead process left behind."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bridge.errors import JobBusy, StoreError
from bridge.runlock import RunLock, job_run, lock_path
from mappings.migrations import LATEST
from mappings.store import Store


def _open_when_told(url: str, go: threading.Event, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    go.wait(10)
    try:
        store = Store(url)
        store.start_run("race")
        store.close()
        results.put("ok")
    except BaseException as exc:  # what the user would have seen
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_creating_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Once "table tpb_schema_version already exists" for the loser of the race; now the schema is made once."""
    ctx = multiprocessing.get_context("fork")
    for attempt in range(8):
        url = f"sqlite:///{tmp_path}/fresh-{attempt}.db"
        go, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open_when_told, args=(url, go, results)) for _ in range(6)]
        for p in procs:
            p.start()
        time.sleep(0.2)  # let all six reach the start line
        go.set()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        assert outcomes == ["ok"] * 6, outcomes
        con = sqlite3.connect(f"{tmp_path}/fresh-{attempt}.db")
        assert [v for (v,) in con.execute("select version from tpb_schema_version order by version")] == list(
            range(1, LATEST + 1)
        )
        assert con.execute("select count(*) from tpb_run").fetchone()[0] == 6
        con.close()


def test_a_new_store_and_its_companions_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Even under umask 000: the store holds case content, the lock names who runs what."""
    code = (
        "import os; os.umask(0)\n"
        "from mappings.store import Store\n"
        "from bridge.runlock import job_run\n"
        f"s = Store('sqlite:///{tmp_path}/private/store.db')\n"
        "with job_run(s, 'qa'):\n"
        "    s.start_run('qa')\n"
        f"    print(sorted(os.listdir('{tmp_path}/private')))\n"
        "    for name in os.listdir('" + f"{tmp_path}/private" + "'):\n"
        "        p = os.path.join('" + f"{tmp_path}/private" + "', name)\n"
        "        print(name, oct(os.stat(p).st_mode & 0o777))\n"
        "    lock = os.path.join('" + f"{tmp_path}/private/store.db.locks" + "', 'qa.lock')\n"
        "    print('qa.lock', oct(os.stat(lock).st_mode & 0o777))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modes = dict(line.split() for line in out.splitlines()[1:])
    assert {"store.db", "store.db-wal", "store.db-shm", "store.db.locks", "qa.lock"} <= set(modes), out
    assert modes["store.db"] == modes["store.db-wal"] == modes["store.db-shm"] == modes["qa.lock"] == "0o600"
    assert modes["store.db.locks"] == "0o700"


def test_an_existing_store_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    Store(f"sqlite:///{path}").close()
    path.chmod(0o640)
    Store(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_upgrade_from_version_3_adds_the_heartbeat_and_keeps_the_runs(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    s = Store(f"sqlite:///{path}")
    run = s.start_run("j")
    s.finish_run(run, status="ok", counts={"tr/case": {"created": 1}}, errors=[])
    s.close()
    con = sqlite3.connect(path)  # as a release that knew version 3 left it
    con.execute("alter table tpb_run drop column heartbeat_at")
    con.execute("delete from tpb_schema_version where version > 3")
    con.commit()
    con.close()
    s = Store(f"sqlite:///{path}")
    assert s.last_success("j") is not None and s.last_success("j").counts == {"tr/case": {"created": 1}}
    assert s.start_run("j").heartbeat_at is not None
    columns = {row[1] for row in sqlite3.connect(path).execute("pragma table_info(tpb_run)")}
    assert "heartbeat_at" in columns


def test_runs_left_running_are_marked_aborted_as_last_seen_by_the_next_run(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.db")
    dead = store.start_run("qa")  # a run whose process died: nothing holds the job's lock
    other = store.start_run("other-job")
    with job_run(store, "qa") as stale:
        assert [r.id for r in stale] == [dead.id]
    (row,) = [r for r in store.runs(job="qa") if r.id == dead.id]
    assert row.status == "aborted"
    assert row.finished_at is not None and row.heartbeat_at is not None
    assert row.finished_at.replace(tzinfo=None) == row.heartbeat_at.replace(tzinfo=None)
    assert "stopped without finishing; last seen" in row.errors[-1]
    assert [r.status for r in store.runs(job="other-job")] == ["running"]  # another job's run is its own
    assert other.id is not None


def test_a_run_in_progress_keeps_its_heartbeat_and_is_not_taken_for_dead(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.db")
    with job_run(store, "qa", heartbeat_seconds=0.05):
        run = store.start_run("qa")
        first = run.heartbeat_at
        deadline = time.monotonic() + 10
        while store.runs(job="qa")[0].heartbeat_at == first and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.runs(job="qa")[0].heartbeat_at != first  # the heartbeat moved on its own
        with pytest.raises(JobBusy, match=rf"job qa is running in process {os.getpid()} on \S+ since "):
            with job_run(store, "qa"):
                pass
    assert store.runs(job="qa")[0].status == "running"  # the lock's owner finishes its run, nobody else


def test_the_lock_is_released_when_its_process_is_killed(tmp_path: Path) -> None:
    """The kernel drops a flock with its process: no stale lock after SIGKILL."""
    url = f"sqlite:///{tmp_path}/store.db"
    Store(url).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from mappings.store import Store\nfrom bridge.runlock import RunLock\n"
            f"lock = RunLock(Store('{url}'), 'qa')\nassert lock.acquire()\nprint('held', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    store = Store(url)
    lock = RunLock(store, "qa")
    assert not lock.acquire()
    assert f"process {holder.pid} on" in lock.holder()
    holder.kill()
    holder.wait(10)
    assert lock.acquire()
    lock.release()
    assert lock_path(tmp_path / "store.db", "qa").exists()


def test_wait_queues_behind_the_holder(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.db")
    first = RunLock(store, "qa")
    assert first.acquire()
    told: list[str] = []
    entered = threading.Event()

    def second() -> None:
        with job_run(store, "qa", wait=True, on_wait=told.append):
            entered.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.5)  # queued behind the holder
    first.release()
    assert entered.wait(10)
    thread.join(10)
    assert told and "since" in told[0]


def test_a_read_only_store_file_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store(f"sqlite:///{path}").close()
    store = Store(f"sqlite:///file:{path}?mode=ro&uri=true")  # opened read-only, as a file without write access is
    with pytest.raises(StoreError, match="is read-only") as info:
        with job_run(store, "qa"):
            raise AssertionError("the block must not start")
    assert "write access" in str(info.value)
    assert store.runs(job="qa") == []  # reading still works: status and conflicts list serve a read-only store
