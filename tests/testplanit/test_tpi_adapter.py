"""The TestPlanIt adapter against the simulator served on loopback (real HTTP, real adapter code)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tpi_helpers import make_adapter

from adapters.simulation import LoopbackServer
from adapters.testplanit.adapter import TestPlanItAdapter
from adapters.testplanit.simulator import TestPlanItSimulator
from bridge.errors import AuthError, CannotRepresent, NotFound, PermissionDenied, UniqueViolation
from bridge.http import STATS, counting
from bridge.model import Case, CaseType, Plan, PlanRun, PlanState, Priority, Result, Status, Step


def requests_made(delta: dict) -> int:  # type: ignore[type-arg]
    return sum(n for k, n in delta.items() if k.system == "testplanit")


# ------------------------------------------------------------------------------------------------ connect
def test_missing_token_is_refused_not_read_as_empty(sim: TestPlanItSimulator, server: LoopbackServer) -> None:
    # the server itself answers an unauthenticated read with an empty 200 ...
    anonymous = httpx.get(server.url + "/api/model/repositoryCases/findMany", params={"q": "{}"})
    assert anonymous.status_code == 200 and anonymous.json() == {"data": []}
    # ... so the adapter must not start without a token that resolves to a user
    with pytest.raises(AuthError, match="tpi_"):
        make_adapter(sim, server, token="").connect()


def test_wrong_token_names_the_problem(sim: TestPlanItSimulator, server: LoopbackServer) -> None:
    with pytest.raises(AuthError) as err:
        make_adapter(sim, server, token="tpi_" + "A" * 43).connect()
    assert "Invalid API token" in str(err.value)
    assert "tpi_AAAA" not in str(err.value)


def test_project_by_name_and_missing_project(sim: TestPlanItSimulator, server: LoopbackServer) -> None:
    with make_adapter(sim, server, project_id=None, project="Demo Project") as a:
        assert a.project_id == sim.project_id
    with pytest.raises(NotFound, match="Nope"):
        make_adapter(sim, server, project_id=None, project="Nope").connect()


def test_read_only_user_gets_permission_denied(sim: TestPlanItSimulator, server: LoopbackServer) -> None:
    token = sim.add_token("creader00000000000000000", name="reader", can_write=False)
    with make_adapter(sim, server, token=token) as a:
        assert len(list(a.iter_cases())) == 30
        with pytest.raises(PermissionDenied, match="denied by policy"):
            a.create_case(Case(title="x"), marker="m")


# ------------------------------------------------------------------------------------------------- folders
def test_ensure_folder_creates_missing_levels_once(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    before = len(sim.rows("repositoryFolders"))
    leaf = adapter.ensure_folder(["Authentication", "SSO", "Okta"])
    assert adapter.ensure_folder(["Authentication", "SSO", "Okta"]) == leaf
    assert len(sim.rows("repositoryFolders")) == before + 2  # Authentication existed
    paths = {f.path for f in adapter.iter_folders()}
    assert ("Authentication", "SSO", "Okta") in paths


def test_folder_created_meanwhile_is_reused(sim: TestPlanItSimulator, server: LoopbackServer) -> None:
    with make_adapter(sim, server) as a:
        list(a.iter_folders())  # tree cached
        with make_adapter(sim, server) as other:
            made = other.ensure_folder(["Late"])
        assert a.ensure_folder(["Late"]) == made


# --------------------------------------------------------------------------------------------------- cases
RICH = Case(
    title="Checkout works",
    folder=("Payments", "Cards"),
    steps=[
        Step(action="Open **checkout** with `card=visa`", expected="- total shown\n- *pay* enabled"),
        Step(action="Pay\nsee [docs](https://example.com/pay)", expected="1. receipt\n2. e-mail"),
        Step(action="Plain step", expected=""),
    ],
    tags=["smoke", "payments"],
    automation_key="tests.pay.test_checkout",
    requirements=["REQ-7"],
    estimate_seconds=90,
)


def test_create_case_round_trip_in_one_request(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    adapter.ensure_folder(RICH.folder)
    with counting() as delta:
        stored = adapter.create_case(RICH, marker="mk-1")
    # the issue lookup plus one create carrying steps, tags and the marker
    assert requests_made(delta()) <= 3
    assert stored.content() == RICH.content()
    assert stored.marker == "mk-1"
    assert adapter.get_case(stored.id or "") == stored
    assert adapter.find_case_by_marker("mk-1") == stored
    # the marker tag never leaks into the normalized tags, and the steps are TipTap JSON strings on the server
    assert "tpb:mk-1" in {t["name"] for t in sim.rows("tags")}
    step = next(s for s in sim.rows("steps") if s["testCaseId"] == int(stored.id or 0))
    assert isinstance(step["step"], str) and '"type": "doc"' in step["step"]


def test_update_steps_leaves_no_orphans(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    stored = adapter.create_case(RICH, marker="mk-2")
    case_id = int(stored.id or 0)
    ids_before = sorted(s["id"] for s in sim.rows("steps") if s["testCaseId"] == case_id)
    changed = stored.model_copy(update={"steps": [Step(action="Only one", expected="done")], "tags": ["ui"]})
    updated = adapter.update_case(stored.id or "", changed)
    assert updated.content() == changed.content()
    live = [s for s in sim.rows("steps") if s["testCaseId"] == case_id and not s["isDeleted"]]
    assert [s["id"] for s in live] == ids_before[:1]  # rewritten in place; the others soft-deleted
    grown = updated.model_copy(update={"steps": [*changed.steps, Step(action="Two"), Step(action="Three")]})
    assert adapter.update_case(stored.id or "", grown).steps == grown.steps
    assert adapter.get_case(stored.id or "") == adapter.update_case(stored.id or "", grown)


def test_unique_violation_is_clear(adapter: TestPlanItAdapter) -> None:
    adapter.create_case(RICH, marker="a")
    with pytest.raises(UniqueViolation) as err:
        adapter.create_case(RICH, marker="b")
    text = str(err.value)
    assert (
        "repositoryCases.create: Unique constraint failed on the fields: (projectId, name, className, source)" in text
    )
    assert "\n\n" not in text.split("\n")[0]


def test_same_title_without_automation_key_is_allowed(adapter: TestPlanItAdapter) -> None:
    plain = Case(title="Twice")
    assert adapter.create_case(plain, marker="t1").id != adapter.create_case(plain, marker="t2").id


def test_unrepresentable_fields_are_reported_not_dropped() -> None:
    """A project with no template assigned (the repo's seed) holds no template fields: said, not dropped."""
    sim = TestPlanItSimulator(seed_style="repo")
    case = Case(
        title="x",
        description="d",
        preconditions="p",
        priority=Priority.HIGH,
        type=CaseType.SMOKE,
        tags=["tpb:forged"],
        custom={"k": "v"},
    )
    with sim.serve() as server, make_adapter(sim, server) as adapter:
        fields = {p.field for p in adapter.check_case(case)}
        assert fields == {"description", "preconditions", "priority", "type", "tags", "custom"}
        assert adapter.capabilities.case_fields is not None
        assert not {"description", "preconditions", "priority", "type"} & adapter.capabilities.case_fields
        with pytest.raises(CannotRepresent):
            adapter.create_case(case, marker="m")
    assert not any(r["name"] == "x" for r in sim.rows("repositoryCases"))


def test_create_checked_uses_the_verdict_and_still_refuses(
    adapter: TestPlanItAdapter, sim: TestPlanItSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create after inspect_case works the template values out once (the check's serve the create); a
    verdict with problems is refused without a request, as create_case refuses the case."""
    import adapters.testplanit.adapter as module

    worked_out: list[str] = []
    wanted_values = module.fields.wanted_values

    def counted(*args: object, **kwargs: object) -> object:
        worked_out.append("wanted")
        return wanted_values(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module.fields, "wanted_values", counted)
    case = Case(title="checked once", steps=[Step(action="a", expected="b")])
    verdict = adapter.inspect_case(case)
    assert verdict.problems == [] and verdict.case is case
    stored = adapter.create_checked(verdict, marker="once")
    assert stored.title == "checked once" and [s.action for s in stored.steps] == ["a"]
    assert len(worked_out) == 1
    adapter.create_case(Case(title="checked inside"), marker="inside")
    assert len(worked_out) == 2  # create_case inspects, then creates from that verdict
    forged = Case(title="forged", tags=["tpb:forged"])
    refused = adapter.inspect_case(forged)
    assert [p.field for p in refused.problems] == ["tags"]
    with counting() as delta:
        with pytest.raises(CannotRepresent):
            adapter.create_checked(refused, marker="never")
    assert requests_made(delta()) == 0
    assert not any(r["name"] == "forged" for r in sim.rows("repositoryCases"))


def test_soft_delete(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    stored = adapter.create_case(Case(title="gone soon"), marker="del")
    adapter.delete_case(stored.id or "")
    assert adapter.get_case(stored.id or "") is None
    assert adapter.find_case_by_marker("del") is None
    assert next(r for r in sim.rows("repositoryCases") if r["id"] == int(stored.id or 0))["isDeleted"] is True
    with pytest.raises(NotFound):
        adapter.delete_case("999999")
    assert adapter.get_case("999999") is None


def test_paging_across_1000_cases() -> None:
    sim = TestPlanItSimulator(cases=1000, steps_per_case=2, folders=3)
    with sim.serve() as server, make_adapter(sim, server) as a:
        sim.log.clear()
        cases = list(a.iter_cases())
        pages = sim.log.count("GET", "repositoryCases/findMany")
    assert len(cases) == 1000 == len({c.id for c in cases})
    assert pages == 3  # 500 + 500 + an empty last page
    assert sum(len(c.steps) for c in cases) == sum(1 for s in sim.rows("steps"))
    assert sim.log.count("GET", "steps/") == 0  # steps came with the cases


# --------------------------------------------------------------------------------------------------- plans
def test_plan_round_trip(adapter: TestPlanItAdapter) -> None:
    case_ids = sorted((c.id or "" for c in list(adapter.iter_cases())[:3]), key=int)
    plan = Plan(
        name="Nightly",
        description="Runs **all**",
        milestone="Release 1",
        runs=[PlanRun(name="Nightly", case_ids=case_ids)],
    )
    stored = adapter.create_plan(plan, marker="pl-1")
    assert (
        stored.content()
        == plan.model_copy(update={"runs": [PlanRun(name="Nightly", case_ids=case_ids, id=stored.id)]}).content()
    )
    assert adapter.find_plan_by_marker("pl-1") == stored == adapter.get_plan(stored.id or "")
    done = stored.model_copy(
        update={
            "state": PlanState.COMPLETED,
            "milestone": None,
            "runs": [PlanRun(name="Nightly", case_ids=case_ids[1:], id=stored.id)],
        }
    )
    updated = adapter.update_plan(stored.id or "", done)
    assert updated.state == PlanState.COMPLETED and updated.milestone is None
    assert updated.case_ids() == set(case_ids[1:])
    assert stored.id in {p.id for p in adapter.iter_plans()}
    adapter.delete_plan(stored.id or "")
    assert adapter.get_plan(stored.id or "") is None
    assert adapter.check_plan(Plan(name="x", owner="me"))[0].field == "owner"


# ------------------------------------------------------------------------------------------------- results
def test_results_bulk_with_ids_and_since(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    cases = list(adapter.iter_cases())[:4]
    plan = adapter.create_plan(
        Plan(name="CI", runs=[PlanRun(name="CI", case_ids=[c.id or "" for c in cases[:2]])]), marker="ci"
    )
    start = datetime.now(UTC) - timedelta(seconds=1)
    batch = [
        Result(case_id=cases[0].id or "", plan_id=plan.id, status=Status.PASSED, elapsed_seconds=3),
        Result(case_id=cases[1].id or "", plan_id=plan.id, status=Status.FAILED, comment="boom **here**"),
        Result(case_id=cases[2].id or "", plan_id=plan.id, status=Status.ERROR),  # not in the run yet: added
        Result(case_id=cases[0].id or "", plan_id=plan.id, status=Status.SKIPPED),
    ]
    with counting() as delta:
        stored = adapter.add_results(batch)
    # run cases read + add + reread, max id, createMany, read back, one updateMany per final status
    assert requests_made(delta()) <= 9
    assert [r.status for r in stored] == [r.status for r in batch]
    assert len({r.id for r in stored}) == 4
    read = {r.id: r for r in adapter.iter_results(plan_id=plan.id, since=start)}
    assert set(read) == {r.id for r in stored}
    assert read[stored[1].id].comment == "boom **here**"
    assert read[stored[2].id].status == Status.ERROR
    assert read[stored[0].id].case_id == cases[0].id
    # the run case shows its latest status (skipped, from the last result)
    skipped = next(s["id"] for s in sim.rows("status") if s["systemName"] == "skipped")
    assert skipped in {rc["statusId"] for rc in sim.rows("testRunCases") if rc["testRunId"] == int(plan.id or 0)}
    later = datetime.now(UTC) + timedelta(hours=1)
    assert list(adapter.iter_results(plan_id=plan.id, since=later)) == []
    with_defect = adapter.add_results(
        [Result(case_id=cases[0].id or "", plan_id=plan.id, status=Status.FAILED, defects=["BUG-9"])]
    )
    assert next(r for r in adapter.iter_results(plan_id=plan.id) if r.id == with_defect[0].id).defects == ["BUG-9"]


def test_status_by_alias_and_value_map(adapter: TestPlanItAdapter) -> None:
    assert adapter.native_status(Status.ERROR)["systemName"] == "exception"
    failed = adapter.native_status(Status.FAILED)["id"]
    assert adapter.normal_status(failed) == Status.FAILED


# ---------------------------------------------------------------------------------------- throttling/faults
def test_rate_limit_with_and_without_retry_after(sim: TestPlanItSimulator, server: LoopbackServer) -> None:
    with make_adapter(sim, server) as a:
        sim.faults.retry_after = 0
        sim.faults.throttle_next = 2
        assert len(list(a.iter_cases())) == 30
        sim.faults.retry_after = None  # no header: the client backs off on its own
        sim.faults.throttle_next = 1
        assert a.get_case("1") is not None
        sim.faults.fail_next = 1  # a 5xx on a read is retried
        assert a.get_case("2") is not None


def test_pacing_to_requests_per_minute(sim: TestPlanItSimulator, server: LoopbackServer) -> None:
    with make_adapter(sim, server, requests_per_minute=600) as a:  # one request per 0.1 s
        started = time.monotonic()
        for _ in range(5):
            a.get_case("1")
        assert time.monotonic() - started >= 0.4


def test_counters_are_per_route(adapter: TestPlanItAdapter) -> None:
    with counting() as delta:
        list(adapter.iter_cases())
    routes = {k.route for k in delta()}
    assert routes == {"/api/model/repositoryFolders/findMany", "/api/model/repositoryCases/findMany"}
    assert STATS.total("testplanit") > 0
