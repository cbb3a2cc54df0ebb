"""Incremental reads (``full_read_every``): TestRail lists only the cases changed since the last clean run,
and everything on the schedule; through the simulators on loopback and the real SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

from e2e_harness import World, world
from test_sync_rules import cases, edit, new_case, put

JOB = {"name": "job", "left": "tr", "right": "tp", "entities": ["folder", "case"], "full_read_every": "1h"}


def case_reads(w: World) -> list[str]:
    return [e.query for e in w.sims["tr"].log.entries if "/get_cases/" in e.query]


def linked(w: World, tr_id: str) -> str:
    link = w.store.find_link("job", "case", left_id=tr_id)
    assert link is not None and link.state == "active"
    return link.right_id


def test_changes_travel_both_ways_while_testrail_lists_only_its_changes(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        ids = [put(w, "tr", new_case(f"Inc {i}")) for i in range(4)]
        assert w.sync().status == "ok"  # first run: no read mark yet, a full read
        assert case_reads(w) and not any("updated_after" in q for q in case_reads(w))

        w.sims["tr"].log.clear()
        report = w.sync()
        assert report.status == "ok" and report.total("updated") == report.total("created") == 0
        assert case_reads(w) and all("updated_after" in q for q in case_reads(w))

        # an edit on the incrementally read side is in its changes
        edit(w, "tr", ids[0], title="Inc 0 edited in TestRail")
        # an edit on the other side reaches a TestRail case that is not in the changes (looked up directly)
        edit(w, "tp", linked(w, ids[1]), title="Inc 1 edited in TestPlanIt")
        w.sims["tr"].log.clear()
        assert w.sync().status == "ok"
        assert all("updated_after" in q for q in case_reads(w))
        assert "Inc 0 edited in TestRail" in cases(w, "tp")
        assert "Inc 1 edited in TestPlanIt" in cases(w, "tr")
        assert sorted(cases(w, "tr")) == sorted(cases(w, "tp"))

        # a new case on the other side: TestRail is read in full to match it before anything is created
        put(w, "tp", new_case("New in TestPlanIt"))
        put(w, "tr", new_case("New in TestRail"))
        w.sims["tr"].log.clear()
        assert w.sync().status == "ok"
        assert any("updated_after" not in q for q in case_reads(w))
        assert sorted(cases(w, "tr")) == sorted(cases(w, "tp")) and len(cases(w, "tr")) == 6
        assert w.sync().total("created") == 0


def test_a_deletion_waits_for_the_full_read(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        ids = [put(w, "tr", new_case(f"Del {i}")) for i in range(4)]
        w.sync()
        with w.adapter("tr") as a:
            a.delete_case(ids[0])
        report = w.sync()  # incremental: a deleted case lists as nothing, which proves nothing
        assert report.status == "ok" and w.store.find_link("job", "case", left_id=ids[0]).state == "active"
        w.store.forget_read_marks("job")  # as when full_read_every has passed
        w.sims["tr"].log.clear()
        assert w.sync().status == "ok"
        assert not any("updated_after" in q for q in case_reads(w))
        assert w.store.find_link("job", "case", left_id=ids[0]).state == "unlinked"
        assert [c.kind for c in w.store.conflicts(job="job", open_only=False)] == ["deleted"]


def test_a_run_with_errors_does_not_move_the_read_mark(tmp_path: Path) -> None:
    """Two edits a second apart fail to reach TestPlanIt. Had the mark moved to the newer one, the next
    incremental read would no longer list the older edit, and it would be lost."""
    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        ids = [put(w, "tr", new_case(f"Err {i}")) for i in range(3)]
        w.sync()
        edit(w, "tr", ids[0], title="Err 0 edited")
        time.sleep(2.1)  # TestRail keeps change times in whole seconds
        edit(w, "tr", ids[1], title="Err 1 edited")
        w.sims["tp"].faults.fail_next_writes = 2
        report = w.sync()
        assert report.status == "errors"
        assert "Err 0 edited" not in cases(w, "tp") and "Err 1 edited" not in cases(w, "tp")
        assert w.sync().status == "ok"
        assert {"Err 0 edited", "Err 1 edited"} <= set(cases(w, "tp"))


def test_a_renamed_folder_brings_a_full_read(tmp_path: Path) -> None:
    """Renaming a TestRail section changes its cases' folder path but not their change time: the changed
    folder tree makes the next read a full one, so the cases follow on the other side."""
    from adapters.testrail.adapter import TestRailAdapter

    with world(tmp_path, names=("tr", "tp"), jobs=[JOB]) as w:
        ids = [put(w, "tr", new_case(f"Moved {i}", folder=("Auth",))) for i in range(2)]
        w.sync()
        w.sync()  # settled: the next read would be incremental
        with w.adapter("tr") as a:
            assert isinstance(a, TestRailAdapter)
            section = next(f for f in a.iter_folders() if f.path == ("Auth",))
            a.client.post("update_section", int(section.id or 0), body={"name": "Login"})
        w.sims["tr"].log.clear()
        assert w.sync().status == "ok"
        assert not any("updated_after" in q for q in case_reads(w))
        assert {c.folder for c in cases(w, "tp").values()} == {("Login",)}
        assert all(w.store.find_link("job", "case", left_id=i).state == "active" for i in ids)
