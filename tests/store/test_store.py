"""The mapping store on a real SQLite file: round trips, migrations, conflict de-duplication."""

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError

from bridge.errors import StoreError
from mappings.migrations import LATEST
from mappings.store import Store
from mappings.tables import Conflict, Link, ResultCopy, utcnow


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


def test_upgrade_to_version_7_drops_the_link_job_index_and_queries_by_job_still_use_an_index(tmp_path):
    path = tmp_path / "v6.db"
    s = Store(f"sqlite:///{path}")
    s.save_link(Link(job="j", entity="case", left_id="1", right_id="2"))
    s.close()
    con = sqlite3.connect(path)  # as a release that knew version 6 left it
    con.execute("create index ix_tpb_link_job on tpb_link (job)")
    con.execute("delete from tpb_schema_version where version > 6")
    con.commit()
    con.close()
    s = Store(f"sqlite:///{path}")
    assert s.link_count("j") == 1
    s.close()
    con = sqlite3.connect(path)
    indexes = {n for (n,) in con.execute("select name from sqlite_master where type='index' and tbl_name='tpb_link'")}
    assert "ix_tpb_link_job" not in indexes
    plan = " ".join(str(r) for r in con.execute("explain query plan select count(*) from tpb_link where job = 'j'"))
    assert "sqlite_autoindex_tpb_link" in plan  # the unique (job, entity, left_id) index, not a table scan


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


def _as_schema_3(path) -> None:
    """Make a store look like one a release at schema version 3 wrote: tpb_conflict without the columns of
    version 4, no tpb_note."""
    con = sqlite3.connect(path)
    old = (
        "id, job, entity, kind, record, left_id, right_id, field, base_value, left_value, right_value, message,"
        " detected_at, run_id, resolved_at, resolution, resolved_value, resolved_by, applied_at"
    )
    con.executescript(
        f"""
        create table old_conflict as select {old} from tpb_conflict;
        drop table tpb_conflict;
        create table tpb_conflict (
            id integer primary key, job varchar(200) not null, entity varchar(20) not null,
            kind varchar(40) not null, record varchar(400) not null, left_id varchar(200), right_id varchar(200),
            field varchar(200), base_value json, left_value json, right_value json, message text not null,
            detected_at datetime not null, run_id integer, resolved_at datetime, resolution varchar(60),
            resolved_value json, resolved_by varchar(200), applied_at datetime);
        insert into tpb_conflict select * from old_conflict;
        drop table old_conflict;
        drop table tpb_note;
        delete from tpb_schema_version where version > 3;
        """
    )
    con.commit()
    con.close()


def test_upgrade_from_version_3_keeps_links_and_history_and_moves_notes_apart(tmp_path):
    path = tmp_path / "v3.db"
    s = Store(f"sqlite:///{path}")
    s.save_link(Link(job="j", entity="case", left_id="1", right_id="2", base={"title": "kept"}))
    edit = Conflict(job="j", entity="case", kind="edit", record="tr:1 <-> tp:2", left_id="1", right_id="2",
                    field="title", left_value="L", right_value="R")  # fmt: skip
    lossy = Conflict(job="j", entity="case", kind="lossy-write", record="tr:3 'x'", field="priority",
                     resolution="noted", resolved_at=utcnow())  # fmt: skip
    unfit = Conflict(job="j", entity="case", kind="cannot-represent", record="tr:4 'y'", field="tags")
    ambiguous = Conflict(job="j", entity="case", kind="ambiguous-match", record="folder and title 'z'")
    for c in (edit, lossy, unfit, ambiguous):
        s.save_conflict(c)
    s.close()
    _as_schema_3(path)

    s = Store(f"sqlite:///{path}")
    assert s.links("j", "case")[0].base == {"title": "kept"}
    history = {c.kind: c for c in s.conflicts(job="j", open_only=False)}
    assert set(history) == {"edit", "cannot-represent", "ambiguous-match"}  # the lossy write became a note
    assert [(n.kind, n.record, n.field) for n in s.notes(job="j")] == [("lossy-write", "tr:3 'x'", "priority")]
    assert history["edit"].resolved_at is None and history["edit"].subject == "left:1"
    assert history["ambiguous-match"].resolved_at is None
    assert history["ambiguous-match"].subject == "key:folder and title 'z'"
    # an entry with no stable key is closed; the next run opens it again, once, if it still holds
    assert history["cannot-represent"].resolution == "auto"
    assert s.conflict_counts("j") == {"j": {"case": 2}}
    s.close()
    con = sqlite3.connect(path)
    assert max(v for (v,) in con.execute("select version from tpb_schema_version")) == LATEST
    con.close()


def test_open_entry_is_refreshed_in_place_by_subject_and_closed_entries_stay_history(store):
    first = store.log_conflict(
        Conflict(
            job="j",
            entity="case",
            kind="cannot-represent",
            subject="left:1",
            side="right",
            field="tags",
            record="tr:1 'old title'",
            left_value=["a"],
        )  # fmt: skip
    )
    again = store.log_conflict(
        Conflict(
            job="j",
            entity="case",
            kind="cannot-represent",
            subject="left:1",
            side="right",
            field="tags",
            record="tr:1 'new title'",
            left_value=["b"],
        )  # fmt: skip
    )
    assert again.id == first.id and again.left_value == ["b"] and again.record == "tr:1 'new title'"
    store.close_conflicts([first.id])
    assert store.conflicts(job="j") == [] and store.conflict(first.id).resolution == "auto"
    assert store.conflict_counts() == {}
