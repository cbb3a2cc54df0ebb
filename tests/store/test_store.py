"""The mapping store on a real SQLite file: round trips, migrations, conflict de-duplication."""

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError

from bridge.errors import StoreError
from mappings.migrations import LATEST
from mappings.store import Store
from mappings.tables import Conflict, Link, ResultCopy


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/store.db")
    yield s
    s.close()


def test_schema_is_created_from_an_empty_database_at_the_latest_version(tmp_path):
    path = tmp_path / "new.db"
    Store(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    versions = [v for (v,) in con.execute("select version from tpb_schema_version order by version")]
    tables = {t for (t,) in con.execute("select name from sqlite_master where type='table'")}
    assert versions == list(range(1, LATEST + 1))
    assert {"tpb_link", "tpb_conflict", "tpb_run", "tpb_intent", "tpb_result_copy", "tpb_firing"} <= tables
    assert con.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_upgrade_from_version_1_keeps_the_data(tmp_path):
    path = tmp_path / "old.db"
    s = Store(f"sqlite:///{path}")
    s.save_link(Link(job="j", entity="case", left_id="1", right_id="2", base={"title": "kept"}))
    s.close()
    con = sqlite3.connect(path)  # make it look like a store written by a release that only knew version 1
    con.execute("drop table tpb_firing")
    con.execute("delete from tpb_schema_version where version > 1")
    con.commit()
    con.close()
    s = Store(f"sqlite:///{path}")
    assert s.links("j", "case")[0].base == {"title": "kept"}
    assert s.claim_firing("j", s.start_run("j").started_at, "me")


def test_a_store_from_a_newer_release_is_refused(tmp_path):
    path = tmp_path / "future.db"
    Store(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    con.execute("insert into tpb_schema_version(version, applied_at) values (999, '2030-01-01')")
    con.commit()
    with pytest.raises(StoreError, match="newer"):
        Store(f"sqlite:///{path}")


def test_link_round_trip_and_unique_sides(store):
    link = store.save_link(
        Link(
            job="j",
            entity="case",
            left_id="L1",
            right_id="R1",
            base={"steps": [{"action": "a"}]},
            left_hashes={"x": "1"},
        )
    )
    again = store.find_link("j", "case", right_id="R1")
    assert again is not None and again.id == link.id and again.base == {"steps": [{"action": "a"}]}
    again.base = {"steps": []}
    store.save_link(again)
    assert store.links("j", "case")[0].base == {"steps": []}
    with pytest.raises(IntegrityError):
        store.save_link(Link(job="j", entity="case", left_id="L1", right_id="R2"))


def test_intent_is_closed_in_the_same_transaction_as_the_link(store):
    intent = store.record_intent("j", "case", "right", "L1", "tpb-x")
    assert [i.marker for i in store.open_intents("j")] == ["tpb-x"]
    store.save_link(
        Link(job="j", entity="case", left_id="L1", right_id="R1"), resolve_intent=intent.id, outcome="created:R1"
    )
    assert store.open_intents("j") == []


def test_same_open_conflict_is_logged_once_and_user_resolution_is_pending(store):
    for value in ("A", "B"):
        store.log_conflict(Conflict(job="j", entity="case", kind="edit", record="r", field="title", left_value=value))
    open_ = store.conflicts(job="j")
    assert len(open_) == 1 and open_[0].left_value == "B"
    store.resolve_conflict(open_[0].id, resolution="left", value="B", by="qa")
    assert store.conflicts(job="j") == []
    assert [c.id for c in store.pending_resolutions("j", "case")] == [open_[0].id]
    store.mark_applied([open_[0].id])
    assert store.pending_resolutions("j", "case") == []


def test_runs_and_result_copies(store):
    run = store.start_run("j")
    store.finish_run(run, status="ok", counts={"tr/case": {"created": 2}}, errors=[])
    assert store.last_success("j").counts == {"tr/case": {"created": 2}}
    store.record_result_copies([ResultCopy(job="j", source_side="left", source_id="5", target_id="9", marker="m")])
    store.record_result_copies([ResultCopy(job="j", source_side="left", source_id="5", target_id="10", marker="m")])
    sources, made, markers = store.copied_results("j")
    assert sources == {("left", "5")} and made == {"right:9"} and markers == {"m"}
