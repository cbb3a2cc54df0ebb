"""End-to-end: every sync rule through the real adapters and simulators (HTTP on loopback, SQLite store).

Each rule runs for each pair of the three systems in both directions (six ordered pairs): the rules that act on
one side (a deletion, a one-way job, a crash before the link was recorded) thus run from each system towards
each other one.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from e2e_harness import World, world

from bridge.model import Case, Status, Step

PAIRS = [("tr", "ca"), ("ca", "tr"), ("ca", "tp"), ("tp", "ca"), ("tp", "tr"), ("tr", "tp")]
_ids = itertools.count(1)


def new_case(title: str, *, folder: tuple[str, ...] = ("Auth",), steps: int = 2, **extra: object) -> Case:
    return Case(
        title=title,
        folder=folder,
        steps=[Step(action=f"{title} step {i}", expected=f"ok {i}") for i in range(1, steps + 1)],
        **extra,  # type: ignore[arg-type]
    )


def put(w: World, system: str, case: Case) -> str:
    """A person creates a case on ``system`` (through its API)."""
    with w.adapter(system) as a:
        created = a.create_case(case, marker=f"user-{next(_ids):06d}")
        assert created.id is not None
        return created.id


def cases(w: World, system: str) -> dict[str, Case]:
    with w.adapter(system) as a:
        return {c.title: c for c in a.iter_cases()}


def cases_by_id(w: World, system: str) -> dict[str, Case]:
    with w.adapter(system) as a:
        return {str(c.id): c for c in a.iter_cases()}


def edit(w: World, system: str, case_id: str, **changes: object) -> None:
    with w.adapter(system) as a:
        current = a.get_case(case_id)
        assert current is not None
        a.update_case(case_id, Case.model_validate({**current.model_dump(), **changes}))


def writes(w: World, system: str) -> int:
    """Requests that change something (CodeArts reads some lists with POST ...batch-query and its directory
    tree with POST .../children; a dry run does not even register the bridge's own CodeArts test service)."""
    return sum(
        1
        for e in w.sims[system].log.entries
        if e.method in ("POST", "PUT", "PATCH", "DELETE") and not e.path.endswith(("batch-query", "/children"))
    )


@pytest.fixture(params=PAIRS, ids=["-".join(p) for p in PAIRS])
def pair(request: pytest.FixtureRequest, tmp_path: Path):
    left, right = request.param
    with world(tmp_path, names=(left, right), jobs=[{"name": "job", "left": left, "right": right}]) as w:
        yield w, left, right


def test_first_sync_creates_both_ways_then_nothing_echoes(pair):
    w, left, right = pair
    put(w, left, new_case("Login works"))
    put(w, left, new_case("Logout works", folder=("Auth", "Out")))
    put(w, right, new_case("Search finds items", folder=("Search",)))
    report = w.sync()
    assert report.status == "ok", report.errors
    assert set(cases(w, left)) == set(cases(w, right)) == {"Login works", "Logout works", "Search finds items"}
    for title, c in cases(w, left).items():
        other = cases(w, right)[title]
        assert [s.action for s in c.steps] == [s.action for s in other.steps]
        assert c.folder == other.folder
    before = {s: writes(w, s) for s in (left, right)}
    again = w.sync()
    assert again.status == "ok" and again.total("created") == 0 and again.total("updated") == 0
    assert {s: writes(w, s) for s in (left, right)} == before  # the bridge's own writes are not changes
    assert w.store.link_count("job") == 3


def test_existing_records_are_matched_not_duplicated_and_first_sight_differences_are_conflicts(pair):
    w, left, right = pair
    put(w, left, new_case("Same on both"))
    put(w, right, new_case("Same on both"))
    put(w, left, new_case("Differs", steps=1))
    put(w, right, new_case("Differs", steps=3))
    report = w.sync()
    assert report.status == "ok"
    assert len(cases(w, left)) == len(cases(w, right)) == 2
    conflicts = w.store.conflicts(job="job")
    assert [(c.kind, c.field) for c in conflicts] == [("first-sight", "steps")]
    assert len(cases(w, left)["Differs"].steps) == 1 and len(cases(w, right)["Differs"].steps) == 3


def test_field_changes_propagate_and_concurrent_edits_conflict(pair):
    w, left, right = pair
    lid = put(w, left, new_case("Alpha"))
    put(w, left, new_case("Beta"))
    w.sync()
    rid = w.store.find_link("job", "case", left_id=lid).right_id
    beta_r = cases(w, right)["Beta"].id
    edit(w, left, lid, steps=[Step(action="changed on the left", expected="yes")])
    edit(w, right, beta_r, title="Beta renamed")
    w.sync()
    assert cases(w, right)["Alpha"].steps[0].action == "changed on the left"
    assert "Beta renamed" in cases(w, left)
    # both sides change the same field differently: logged, neither written
    edit(w, left, lid, title="Alpha L")
    edit(w, right, rid, title="Alpha R")
    report = w.sync()
    assert report.status == "ok"
    assert "Alpha L" in cases(w, left) and "Alpha R" in cases(w, right)
    edits = [c for c in w.store.conflicts(job="job") if c.kind == "edit"]
    assert [(c.field, c.base_value, c.left_value, c.right_value) for c in edits] == [
        ("title", "Alpha", "Alpha L", "Alpha R")
    ]
    # the same conflict is not logged twice, and a person's decision reaches both sides
    w.sync()
    assert len([c for c in w.store.conflicts(job="job") if c.kind == "edit"]) == 1
    w.store.resolve_conflict(edits[0].id, resolution="value", value="Alpha final", by="qa")
    w.sync()
    assert "Alpha final" in cases(w, left) and "Alpha final" in cases(w, right)
    assert w.store.conflicts(job="job") == []


def test_same_change_on_both_sides_is_not_a_conflict(pair):
    w, left, right = pair
    lid = put(w, left, new_case("Gamma"))
    w.sync()
    rid = w.store.find_link("job", "case", left_id=lid).right_id
    edit(w, left, lid, title="Gamma 2")
    edit(w, right, rid, title="Gamma 2")
    report = w.sync()
    assert report.total("updated") == 0 and w.store.conflicts(job="job") == []


@pytest.mark.parametrize("policy,winner", [("left-wins", "L"), ("right-wins", "R")])
def test_winner_policies_write_the_winner_and_keep_the_loser_in_the_log(pair, policy, winner):
    w, left, right = pair
    lid = put(w, left, new_case("Delta"))
    w.sync()
    rid = w.store.find_link("job", "case", left_id=lid).right_id
    edit(w, left, lid, title="Delta L")
    edit(w, right, rid, title="Delta R")
    w.sync(conflict_policy=policy)
    assert f"Delta {winner}" in cases(w, left) and f"Delta {winner}" in cases(w, right)
    logged = w.store.conflicts(job="job", open_only=False)
    assert [(c.resolution, c.left_value, c.right_value) for c in logged] == [(f"policy:{policy}", "Delta L", "Delta R")]


def test_deletion_is_confirmed_then_unlinked_and_never_recreated(pair):
    w, left, right = pair
    lid = put(w, left, new_case("Doomed"))
    put(w, left, new_case("Stays"))
    w.sync()
    with w.adapter(left) as a:
        a.delete_case(lid)
    w.sync()  # deletions = unlink (the default)
    assert "Doomed" not in cases(w, left) and "Doomed" in cases(w, right)
    deleted = [c for c in w.store.conflicts(job="job", open_only=False) if c.kind == "deleted"]
    assert len(deleted) == 1 and w.store.find_link("job", "case", left_id=lid).state == "unlinked"
    w.sync()
    assert "Doomed" not in cases(w, left)  # the survivor is not copied back as new


def test_deletion_propagates_when_asked_and_modification_beats_deletion(pair):
    w, left, right = pair
    gone = put(w, left, new_case("Gone"))
    kept = put(w, left, new_case("Edited elsewhere"))
    w.sync()
    kept_r = w.store.find_link("job", "case", left_id=kept).right_id
    with w.adapter(left) as a:
        a.delete_case(gone)
        a.delete_case(kept)
    edit(w, right, kept_r, steps=[Step(action="new step on the right", expected="")])
    w.sync(deletions="propagate")
    assert "Gone" not in cases(w, right)
    restored = cases(w, left)["Edited elsewhere"]  # restored on the side that deleted it
    assert restored.steps[0].action == "new step on the right"
    kinds = sorted(c.kind for c in w.store.conflicts(job="job", open_only=False))
    assert kinds == ["delete-vs-modify"]


def test_mass_deletion_stops_the_job_before_deleting_anything(pair):
    w, left, right = pair
    ids = [put(w, left, new_case(f"Mass {i}")) for i in range(5)]
    w.sync()
    with w.adapter(left) as a:
        for cid in ids[:4]:
            a.delete_case(cid)
    report = w.sync(deletions="propagate")
    assert report.status == "aborted" and "vanished" in report.errors[0]
    assert len(cases(w, right)) == 5


def test_dry_run_lists_every_change_and_writes_nothing(pair):
    w, left, right = pair
    put(w, left, new_case("Planned"))
    before = {s: writes(w, s) for s in (left, right)}
    report = w.sync(dry_run=True)
    planned = [(a.action, a.entity, a.system) for a in report.actions]
    assert ("create", "case", right) in planned  # (systems with folders also plan the folder)
    assert set(planned) <= {("create", "case", right), ("create", "folder", right)}
    assert {s: writes(w, s) for s in (left, right)} == before
    assert w.store.link_count() == 0 and w.store.runs() == []


def test_one_way_job_writes_only_the_target(pair, tmp_path):
    w, left, right = pair
    put(w, left, new_case("From source"))
    put(w, right, new_case("Only on target"))
    w.sync(direction="left-to-right")
    assert "From source" in cases(w, right)
    copied = w.store.find_link("job", "case", left_id=next(iter(cases_by_id(w, left)))).right_id
    edit(w, right, copied, title="Target edit")
    source_writes = writes(w, left)
    report = w.sync(direction="left-to-right")  # a change on the target: still nothing written on the source
    assert report.status == "ok", report.errors
    assert sorted(cases(w, right)) == ["Only on target", "Target edit"]  # the target's own edit is left alone
    assert sorted(cases(w, left)) == ["From source"]
    assert writes(w, left) == source_writes
    assert not [a for a in report.actions if a.system == left]


def test_crash_between_create_and_link_is_adopted_not_duplicated(pair):
    from bridge.sync.markers import marker_for

    w, left, right = pair
    lid = put(w, left, new_case("Half done"))
    marker = marker_for("job", "case", "left", lid)
    # a run that died right after its create: the intent is open and the record exists, unlinked
    w.store.record_intent("job", "case", "right", lid, marker)
    with w.adapter(right) as a:
        a.create_case(new_case("Half done"), marker=marker)
    report = w.sync()
    assert report.status == "ok" and report.total("adopted") == 1 and report.total("created") == 0
    assert list(cases(w, right)) == ["Half done"] and w.store.open_intents("job") == []


def test_values_a_side_cannot_hold_are_logged_not_truncated(tmp_path):
    # the custom test service holds at most 24 labels (the native library has no such limit)
    jobs = [{"name": "job", "left": "tp", "right": "ca"}]
    with world(tmp_path, names=("tp", "ca"), jobs=jobs, settings={"ca": {"mode": "custom-service"}}) as w:
        put(w, "tp", new_case("Thirty labels", tags=[f"tag{i}" for i in range(30)]))
        put(w, "tp", new_case("Fine", tags=["smoke"]))
        w.sync()
        assert set(cases(w, "ca")) == {"Fine"}
        logged = w.store.conflicts(job="job")
        assert [(c.kind, c.field) for c in logged] == [("cannot-represent", "tags")]


def test_results_are_copied_once_and_follow_plans(tmp_path):
    from bridge.model import Plan, PlanRun, Result

    with world(tmp_path, names=("tr", "tp"), jobs=[{"name": "job", "left": "tr", "right": "tp"}]) as w:
        ids = [put(w, "tr", new_case(f"Run case {i}")) for i in range(3)]
        with w.adapter("tr") as a:
            plan = a.create_plan(Plan(name="Sprint 1", runs=[PlanRun(name="Sprint 1", case_ids=ids)]), marker="user-p1")
            run_id = plan.runs[0].id
            a.add_results(
                [Result(case_id=i, plan_id=plan.id, run_id=run_id, status=Status.PASSED, comment="ok") for i in ids]
            )
        w.sync()
        with w.adapter("tp") as b:
            tp_plan = next(iter(b.iter_plans()))
            copied = list(b.iter_results(plan_id=tp_plan.id))
        assert tp_plan.name == "Sprint 1" and len(tp_plan.case_ids()) == 3
        assert sorted(r.status for r in copied) == [Status.PASSED] * 3
        w.sync()
        with w.adapter("tp") as b:
            assert len(list(b.iter_results(plan_id=tp_plan.id))) == 3
        with w.adapter("tr") as a:
            assert len(list(a.iter_results(plan_id=plan.id))) == 3  # nothing came back as an echo


@pytest.mark.parametrize("names", [("tr", "tp"), ("tp", "tr"), ("ca", "tr"), ("tp", "ca")], ids="-".join)
def test_results_posted_by_a_run_that_died_before_recording_them_are_adopted(tmp_path, names):
    """A run posts the results of a plan, then dies before it records them as copies: the next run neither
    posts them again nor copies them back as new results of the target."""
    from bridge.model import Plan, PlanRun, Result

    left, right = names
    with world(tmp_path, names=names, jobs=[{"name": "job", "left": left, "right": right}]) as w:
        ids = [put(w, left, new_case(f"Result case {i}")) for i in range(3)]
        with w.adapter(left) as a:
            plan = a.create_plan(Plan(name="Sprint 9", runs=[PlanRun(name="Sprint 9", case_ids=ids)]), marker="p9")
        w.sync()  # cases and plan linked, no results yet
        with w.adapter(left) as a:
            run_id = plan.runs[0].id if a.capabilities.plan_runs else None
            a.add_results(
                [Result(case_id=i, plan_id=plan.id, run_id=run_id, status=Status.FAILED, comment="x") for i in ids[:2]]
                + [Result(case_id=ids[2], plan_id=plan.id, run_id=run_id, status=Status.PASSED, comment="y")]
            )
        right_plan_id = w.store.find_link("job", "plan", left_id=plan.id).right_id
        # the dead run: intent recorded, the first two results landed on the right, nothing recorded
        w.store.record_intent("job", "result", "right", f"plan:{right_plan_id}", "results:3")
        case_map = {lk.left_id: lk.right_id for lk in w.store.links("job", "case")}
        with w.adapter(right) as b:
            target_plan = b.get_plan(right_plan_id)
            run_of = {c: r.id for r in target_plan.runs for c in r.case_ids}
            landed = [case_map[i] for i in ids[:2]]
            b.add_results(
                [
                    Result(case_id=c, plan_id=right_plan_id, run_id=run_of.get(c), status=Status.FAILED, comment="x")
                    for c in landed
                ]
            )
        report = w.sync()
        assert report.status == "ok", report.errors
        assert report.total("adopted") == 2 and w.store.open_intents("job") == []
        with w.adapter(right) as b:
            on_right = sorted((r.case_id, r.status) for r in b.iter_results(plan_id=right_plan_id))
        assert on_right == sorted(
            [(case_map[ids[0]], Status.FAILED), (case_map[ids[1]], Status.FAILED), (case_map[ids[2]], Status.PASSED)]
        )
        with w.adapter(left) as a:
            assert len(list(a.iter_results(plan_id=plan.id))) == 3  # the adopted ones did not come back
        w.sync()
        with w.adapter(right) as b:
            assert len(list(b.iter_results(plan_id=right_plan_id))) == 3


def test_fields_a_side_cannot_hold_are_named_in_every_report(tmp_path):
    # seed -1: a TestPlanIt project like the repo's own seed data, with no case template assigned
    jobs = [{"name": "job", "left": "tr", "right": "tp"}]
    with world(tmp_path, names=("tr", "tp"), seeds={"tp": -1}, jobs=jobs) as w:
        for _ in range(2):
            notes = w.sync().notes
            lacking = {n.split()[2]: n.split(": ", 1)[1] for n in notes if n.startswith("case fields ")}
            assert lacking["tp"] == "description, preconditions, priority, type"


def test_a_testplanit_template_with_the_fields_holds_them(tmp_path):
    """The default TestPlanIt project (made as in the UI) has a template with the four fields: nothing lacking."""
    with world(tmp_path, names=("tr", "tp"), jobs=[{"name": "job", "left": "tr", "right": "tp"}]) as w:
        notes = w.sync().notes
        assert not any(n.startswith("case fields tp cannot hold") for n in notes), notes
