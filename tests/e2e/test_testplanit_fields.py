"""TestRail -> TestPlanIt through the simulators: template fields migrated and synced back, a project with no
folders, and a case deleted in TestPlanIt then edited on TestRail restored in place."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_harness import World, world
from test_sync_rules import cases, edit, new_case, put

from bridge.commands import migration_job, run_job
from bridge.model import CaseType, Priority

JOB = [{"name": "job", "left": "tr", "right": "tp"}]


def migrate(w: World) -> None:
    cfg = w.config()
    report = run_job(cfg, migration_job(cfg, "tr", "tp"), w.store, dry_run=False, kind="migrate")
    assert report.status == "ok", report.errors
    assert not [c for c in w.store.conflicts(open_only=False) if c.kind == "cannot-represent"]


def field_values(w: World, case_id: str) -> dict[str, object]:
    sim = w.sims["tp"]
    names = {v: k for k, v in sim.field_ids.items()}  # type: ignore[attr-defined]
    rows = [r for r in sim.rows("caseFieldValues") if r["testCaseId"] == int(case_id)]
    return {names[r["fieldId"]]: r["value"] for r in rows}


def test_migration_carries_template_fields_and_edits_come_back(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=JOB) as w:
        assert w.sims["tp"].rows("repositoryFolders") == []  # a new TestPlanIt project: no folder yet
        source = new_case(
            "Refund",
            folder=("Payments", "Cards"),
            description="Refunds the **whole** amount",
            preconditions="A paid order",
            priority=Priority.HIGH,
            type=CaseType.REGRESSION,
        )
        tr_id = put(w, "tr", source)
        migrate(w)
        tp_id = w.store.find_link("job", "case", left_id=tr_id).right_id
        migrated = cases(w, "tp")["Refund"]
        assert (migrated.description, migrated.preconditions) == (source.description, source.preconditions)
        assert (migrated.priority, migrated.type, migrated.folder) == (
            Priority.HIGH,
            CaseType.REGRESSION,
            ("Payments", "Cards"),
        )
        sim = w.sims["tp"]
        values = field_values(w, tp_id)
        assert values["priority"] == sim.option_ids[("priority", "High")]  # type: ignore[attr-defined]
        assert values["type"] == sim.option_ids[("type", "Regression")]  # type: ignore[attr-defined]
        assert json.loads(str(values["description"]))["type"] == "doc"
        tops = [r["name"] for r in sim.rows("repositoryFolders") if r["parentId"] is None]
        assert tops == ["Payments"]

        # each field edited in TestPlanIt comes back to TestRail on the next sync
        edit(
            w,
            "tp",
            tp_id,
            description="Refunds part of it",
            preconditions="A paid order with two items",
            priority=Priority.LOW,
            type=CaseType.SMOKE,
        )
        report = w.sync()
        assert report.status == "ok", report.errors
        back = cases(w, "tr")["Refund"]
        assert (back.description, back.preconditions, back.priority, back.type) == (
            "Refunds part of it",
            "A paid order with two items",
            Priority.LOW,
            CaseType.SMOKE,
        )
        again = w.sync()
        assert again.total("updated") == again.total("created") == 0


def test_a_case_deleted_in_testplanit_and_edited_on_testrail_is_restored_in_place(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=JOB) as w:
        tr_id = put(w, "tr", new_case("Export", automation_key="tests.test_export", priority=Priority.MEDIUM))
        assert w.sync().status == "ok"
        tp_id = w.store.find_link("job", "case", left_id=tr_id).right_id
        with w.adapter("tp") as b:
            b.delete_case(tp_id)
        edit(w, "tr", tr_id, priority=Priority.CRITICAL)

        report = w.sync()
        assert report.status == "ok", report.errors
        rows = [r for r in w.sims["tp"].rows("repositoryCases") if r["name"] == "Export"]
        assert [(r["id"], r["isDeleted"]) for r in rows] == [(int(tp_id), False)]  # the same row, undeleted
        assert cases(w, "tp")["Export"].priority == Priority.CRITICAL
        link = w.store.find_link("job", "case", left_id=tr_id)
        assert link is not None and link.right_id == tp_id
        kinds = [(c.kind, c.resolution) for c in w.store.conflicts(job="job", open_only=False)]
        assert kinds == [("delete-vs-modify", "restored")]
        again = w.sync()
        assert again.total("updated") == again.total("created") == again.total("deleted") == 0
