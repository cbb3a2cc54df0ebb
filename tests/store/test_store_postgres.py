"""The same store on a real PostgreSQL server (started by the test, on loopback)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mappings.migrations import LATEST  # noqa: E402
from mappings.store import Store  # noqa: E402
from mappings.tables import Conflict, Link  # noqa: E402
from tests.pgserver import require_pg  # noqa: E402


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    pg = require_pg()  # started already
    try:
        yield pg.create_db("store_test")
    finally:
        pg.cleanup()


def test_store_round_trips_and_migrations_on_postgresql(pg_url: str) -> None:
    store = Store(pg_url)
    again = Store(pg_url)  # a second instance starting on the same database does not migrate twice
    with store.engine.connect() as conn:
        versions = [v for (v,) in conn.exec_driver_sql("select version from tpb_schema_version order by version")]
    assert versions == list(range(1, LATEST + 1))
    link = store.save_link(Link(job="j", entity="case", left_id="1", right_id="A", base={"steps": [{"a": "ü"}]}))
    assert again.find_link("j", "case", right_id="A").base == {"steps": [{"a": "ü"}]}  # type: ignore[union-attr]
    intent = store.record_intent("j", "case", "right", "2", "tpb-m")
    store.save_link(Link(job="j", entity="case", left_id="2", right_id="B"), resolve_intent=intent.id, outcome="x")
    assert again.open_intents("j") == [] and again.link_count("j") == 2
    store.log_conflict(Conflict(job="j", entity="case", kind="edit", record="r", field="title", left_value="L"))
    store.log_conflict(Conflict(job="j", entity="case", kind="edit", record="r", field="title", left_value="L2"))
    assert [c.left_value for c in again.conflicts(job="j")] == ["L2"]
    run = store.start_run("j")
    assert store.claim_firing("j", run.started_at, "one") and not again.claim_firing("j", run.started_at, "two")
    assert link.id is not None
    store.close()
    again.close()


def test_times_survive_a_server_that_is_not_on_utc(pg_url: str) -> None:
    """A PostgreSQL server's time zone is the operator's choice; the store's times (runs, back-off, health,
    read marks) must not shift with it."""
    from datetime import UTC, datetime, timedelta

    import psycopg

    db = pg_url.rsplit("/", 1)[1]
    port = pg_url.split(":")[-1].split("/")[0]
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"ALTER DATABASE \"{db}\" SET timezone TO 'Asia/Tokyo'")
    store = Store(pg_url)
    try:
        before = datetime.now(UTC)
        run = store.start_run("tz")
        store.save_read_mark("tz", "left", "case", watermark=before, full_read_at=before)
        started = store.runs(job="tz")[0].started_at
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        assert abs(started - before) < timedelta(seconds=5), (started, before)
        mark = store.read_mark("tz", "left", "case")
        assert mark is not None
        assert abs(mark.full_read_at.replace(tzinfo=mark.full_read_at.tzinfo or UTC) - before) < timedelta(seconds=1)
        assert run.id is not None
    finally:
        store.close()


def test_run_lock_names_its_holder_and_stale_runs_are_settled_on_postgresql(pg_url: str) -> None:
    """The advisory lock: a second store (another process or machine) is refused with the holder's name; the
    run a dead holder left is marked aborted by whoever takes the lock next. The upgrade to the heartbeat
    column (version 4) runs on PostgreSQL too."""
    import os

    from bridge.errors import JobBusy
    from bridge.runlock import job_run

    store, other = Store(pg_url), Store(pg_url)
    try:
        with store.engine.begin() as conn:  # as a release that knew version 3 left it
            conn.exec_driver_sql("alter table tpb_run drop column heartbeat_at")
            conn.exec_driver_sql("delete from tpb_schema_version where version > 3")
        assert Store(pg_url).start_run("pg-lock").heartbeat_at is not None  # upgraded again; this run is "dead"
        with job_run(store, "pg-lock") as stale:
            assert len(stale) == 1 and stale[0].status == "aborted"
            with pytest.raises(JobBusy, match=rf"job pg-lock is running in process {os.getpid()} on \S+ since 20"):
                with job_run(other, "pg-lock"):
                    pass
        with job_run(other, "pg-lock") as stale:  # released: the other store takes it
            assert stale == []
    finally:
        store.close()
        other.close()


def test_a_dry_runs_scratch_copy_of_a_postgresql_store_holds_the_job_and_keeps_nothing(pg_url: str) -> None:
    from mappings.scratch import scratch_copy

    store = Store(pg_url)
    try:
        store.save_link(Link(job="dry", entity="case", left_id="1", right_id="A", base={"title": "ü"}))
        store.save_link(Link(job="other", entity="case", left_id="1", right_id="A"))
        store.log_conflict(Conflict(job="dry", entity="case", kind="edit", subject="left:1", record="r", field="t"))
        scratch = scratch_copy(store, "dry")
        try:
            assert [lk.base for lk in scratch.links("dry", "case")] == [{"title": "ü"}]
            assert scratch.links("other", "case") == []
            assert scratch.conflict_counts() == {"dry": {"case": 1}}
            scratch.save_link(Link(job="dry", entity="case", left_id="2", right_id="B"))
            scratch.close_conflicts([c.id for c in scratch.conflicts(job="dry")])  # type: ignore[misc]
        finally:
            scratch.close()
        assert store.link_count("dry") == 1 and store.conflict_counts("dry") == {"dry": {"case": 1}}
    finally:
        store.close()


def test_right_hashes_stored_as_changes_read_back_in_full_and_an_old_store_upgrades_on_postgresql(
    pg_url: str,
) -> None:
    """Schema version 8 on PostgreSQL: the right side's hashes stored as what differs from the left's come back
    in full through the model and the bulk rows, with the digests of the full hashes; links written in full
    by a release that knew version 7 (raw SQL, json.dumps text) upgrade and read back the same."""
    import json

    from mappings.store import hashes_digest, json_text

    left = {"title": "h-t", "steps": "h-s", "tags": "h-g"}
    shapes = {"same": dict(left), "differs": {**left, "tags": "h-x"}, "absent": {"title": "h-t", "steps": "h-s"}}
    store = Store(pg_url)
    try:
        for name, right in shapes.items():
            store.save_link(
                Link(job="v8", entity="case", left_id=name, right_id=name, left_hashes=left, right_hashes=right)
            )
            row = {"job": "v8", "entity": "case", "left_id": f"r-{name}", "right_id": f"r-{name}", "marker": None}
            store.insert_links([row | {"base": {}, "left_hashes": left, "right_hashes": right}])
        links = {lk.left_id: lk for lk in store.links("v8", "case")}
        refs, digests = store.link_summaries("v8", "case")
        for name, right in shapes.items():
            for key in (name, f"r-{name}"):
                assert (links[key].left_hashes, links[key].right_hashes) == (left, right)
        for ref in refs:
            right = shapes[ref.left_id.removeprefix("r-")]
            assert digests[ref.id] == (hashes_digest(json_text(left)), hashes_digest(json_text(right)))  # type: ignore[index]
        with store.engine.begin() as conn:  # as a release that knew version 7 left it: hashes in full
            conn.exec_driver_sql("delete from tpb_schema_version where version > 7")
            for name, right in shapes.items():
                conn.exec_driver_sql(
                    "insert into tpb_link (job, entity, left_id, right_id, state, base, left_hashes, right_hashes,"
                    " created_at, updated_at) values ('v7', 'case', %s, %s, 'active', '{}', %s, %s, now(), now())",
                    (name, name, json.dumps(left), json.dumps(right)),
                )
    finally:
        store.close()
    store = Store(pg_url)
    try:
        assert {lk.left_id: lk.right_hashes for lk in store.links("v7", "case")} == shapes
        with store.engine.connect() as conn:
            stored = dict(
                conn.exec_driver_sql("select left_id, right_hashes::text from tpb_link where job = 'v7'").all()
            )
        assert stored["same"] == "[{}]" and stored["absent"] == '[{"tags":null}]'
    finally:
        store.close()
