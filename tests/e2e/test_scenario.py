"""One scenario, exactly specified: both sides edit, delete and create between two runs."""

from __future__ import annotations

from pathlib import Path

from e2e_harness import world
from test_sync_rules import cases, edit, new_case, put

from bridge.model import Step


def test_both_sides_edit_delete_and_create_between_runs(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=[{"name": "job", "left": "tr", "right": "tp"}]) as w:
        ids = {t: put(w, "tr", new_case(t)) for t in ("A", "B", "C", "D", "E")}
        assert w.sync().status == "ok"
        right = {t: w.store.find_link("job", "case", left_id=i).right_id for t, i in ids.items()}

        edit(w, "tr", ids["A"], title="A2")  # left renames A ...
        edit(w, "tp", right["A"], steps=[Step(action="A new step", expected="")])  # ... right edits its steps
        with w.adapter("tp") as b:
            b.delete_case(right["B"])  # right deletes B (the job unlinks on deletion)
        with w.adapter("tr") as a:
            a.delete_case(ids["C"])  # left deletes C while right edits it: the edit wins
        edit(w, "tp", right["C"], steps=[Step(action="C edited", expected="")])
        edit(w, "tr", ids["E"], title="E left")  # both rename E differently: a conflict
        edit(w, "tp", right["E"], title="E right")
        put(w, "tr", new_case("F"))  # each side creates one
        put(w, "tp", new_case("G"))

        report = w.sync()
        assert report.status == "ok", report.errors

        left_now, right_now = cases(w, "tr"), cases(w, "tp")
        assert set(left_now) == {"A2", "B", "C", "D", "E left", "F", "G"}
        assert set(right_now) == {"A2", "C", "D", "E right", "F", "G"}
        assert left_now["A2"].steps[0].action == right_now["A2"].steps[0].action == "A new step"
        assert left_now["C"].steps[0].action == "C edited"  # restored on the side that deleted it
        log = [(c.kind, c.field, c.resolution) for c in w.store.conflicts(job="job", open_only=False)]
        assert sorted(log, key=str) == sorted(
            [("deleted", None, "policy:unlink"), ("delete-vs-modify", None, "restored"), ("edit", "title", None)],
            key=str,
        )
        edit_conflict = next(c for c in w.store.conflicts(job="job") if c.kind == "edit")
        assert (edit_conflict.base_value, edit_conflict.left_value, edit_conflict.right_value) == (
            "E",
            "E left",
            "E right",
        )

        # and a third run changes nothing
        again = w.sync()
        assert again.total("created") == again.total("updated") == again.total("deleted") == 0
