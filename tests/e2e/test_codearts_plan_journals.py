"""Plan journals as the change feed of CodeArts plans (``full_read_every``): a plan's case list is read only
when its journal moved since the last clean run, and every plan in full on the schedule; through the
simulators (changes made with Huawei's official SDK) and the real SQLite store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from e2e_harness import World, world
from huaweicloudsdkcloudtest.v1 import CloudtestClient
from huaweicloudsdkcloudtest.v1.model import (
    BatchRemoveTestCasesFromIteratorRequest,
    CaseIdAndTypeInfo,
    CaseRemoveInfo,
    ShowPlanJournalsRequest,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from sqlmodel import select

from mappings.tables import ReadMark

JOB = {"name": "ca-tr", "left": "ca", "right": "tr", "full_read_every": "1h", "entities": ["folder", "case", "plan"]}


def sdk(w: World) -> CloudtestClient:
    creds = w.sims["ca"].credentials()
    return (
        CloudtestClient.new_builder()
        .with_credentials(BasicCredentials(creds["ak"], creds["sk"], creds["project_id"]))
        .with_endpoints([w.urls["ca"]])
        .build()
    )


def plan_list_reads(w: World) -> int:
    """Case-list pages served for iterations (not for the branch's case library)."""
    library = w.sims["ca"].library  # type: ignore[attr-defined]
    return sum(n for uri, n in library.list_reads.items() if uri in library.iterators)


def reset(w: World) -> None:
    w.sims["ca"].library.list_reads.clear()  # type: ignore[attr-defined]
    w.sims["ca"].log.clear()


def age_full_reads(w: World, job: str, by: timedelta) -> None:
    """Time passes for the schedule: every full read of the job's marks moved back in the real store (a wait
    on the wall clock made this test fail on a loaded machine, where a quiet run took longer than the interval)."""
    with w.store.session() as s:
        for mark in s.exec(select(ReadMark).where(ReadMark.job == job)).all():
            mark.full_read_at = mark.full_read_at - by
            s.add(mark)
        s.commit()


def tr_members(w: World, plan_id: str) -> set[str]:
    with w.adapter("tr") as a:
        plan = a.get_plan(plan_id)
        assert plan is not None
        return {w.store.find_link("ca-tr", "case", right_id=c).left_id for c in plan.case_ids()}  # type: ignore[union-attr]


def test_plans_are_re_read_only_when_their_journal_moved(tmp_path: Path) -> None:
    with world(tmp_path, names=("ca", "tr"), seeds={"ca": 3}, jobs=[JOB]) as w:
        library = w.sims["ca"].library  # type: ignore[attr-defined]
        (sprint,) = library.iterators  # the team's "Sprint 38 regression", 8 cases
        assert w.sync().status == "ok"  # no read mark yet: every plan in full
        tr_plan = w.store.find_link("ca-tr", "plan", left_id=sprint).right_id  # type: ignore[union-attr]
        assert tr_members(w, tr_plan) == set(library.iterators[sprint]["case_uris"])

        # nothing changed: the journal is read, the plan's case list is not
        reset(w)
        report = w.sync()
        assert report.status == "ok" and report.total("updated") == report.total("created") == 0
        assert plan_list_reads(w) == 0
        assert w.sims["ca"].log.count("GET", f"/plans/{sprint}/journals") == 2  # the dry run and the run

        # a case removed from the plan in CodeArts: the journal moved, the plan is read and the change travels
        gone = library.iterators[sprint]["case_uris"][0]
        sdk(w).batch_remove_test_cases_from_iterator(
            BatchRemoveTestCasesFromIteratorRequest(
                iterator_id=sprint, body=CaseRemoveInfo(case_list=[CaseIdAndTypeInfo(id=gone)])
            )
        )
        journal = sdk(w).show_plan_journals(
            ShowPlanJournalsRequest(project_id=library.project_id, plan_id=sprint, offset=0, limit=200)
        )
        assert [d.id for d in journal.body[-1].detail[0].deleted] == [gone]
        reset(w)
        assert w.sync().status == "ok"
        assert plan_list_reads(w) > 0
        assert gone not in tr_members(w, tr_plan) and len(tr_members(w, tr_plan)) == 7

        # and the run after it is quiet again
        reset(w)
        assert w.sync().status == "ok" and plan_list_reads(w) == 0


def test_a_change_on_the_other_side_reads_the_unchanged_plan_and_the_schedule_reads_all(tmp_path: Path) -> None:
    # with results: the results stage lists each plan's cases once a run (results are in no journal)
    job = {"name": "ca-tr", "left": "ca", "right": "tr", "full_read_every": "1h"}
    with world(tmp_path, names=("ca", "tr"), seeds={"ca": 3}, jobs=[job]) as w:
        library = w.sims["ca"].library  # type: ignore[attr-defined]
        (sprint,) = library.iterators
        assert w.sync().status == "ok"
        tr_plan = w.store.find_link("ca-tr", "plan", left_id=sprint).right_id  # type: ignore[union-attr]
        # removed in TestRail: the CodeArts plan's journal did not move, yet the plan is read to be written
        keep = sorted(library.iterators[sprint]["case_uris"])[1:]
        with w.adapter("tr") as a:
            plan = a.get_plan(tr_plan)
            assert plan is not None
            to_tr = {link.left_id: link.right_id for link in w.store.links("ca-tr", "case")}
            runs = [r.model_copy(update={"case_ids": [to_tr[c] for c in keep]}) for r in plan.runs]
            a.update_plan(tr_plan, plan.model_copy(update={"runs": runs}))
        reset(w)
        assert w.sync().status == "ok"
        assert sorted(library.iterators[sprint]["case_uris"]) == keep
        assert plan_list_reads(w) > 0
        # quiet runs list the plan once (for its results), until the schedule asks for a full read
        w.sync()
        reset(w)
        assert w.sync(plan_first=False).status == "ok" and plan_list_reads(w) == 1
        age_full_reads(w, "ca-tr", timedelta(hours=1, seconds=1))
        reset(w)
        assert w.sync(plan_first=False).status == "ok" and plan_list_reads(w) == 2
