"""The adapter through the simulator on loopback: every operation, limits, batches, failures, auth."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from adapters.codearts.iam import IamTokenAuth
from adapters.codearts.simulator import CodeArtsSimulator
from bridge.errors import AuthError, CannotRepresent, PartialBatchFailure
from bridge.model import Case, CaseType, Plan, PlanRun, Priority, Result, Status, Step
from tests.codearts.conftest import make_adapter


def _case(title: str = "Login works", **kw) -> Case:
    base = dict(
        title=title,
        folder=("Auth", "SSO"),
        description="Checks **login**.\n\n- one\n- two",
        preconditions="A user exists",
        steps=[Step(action="Open page", expected="Form shown"), Step(action="Submit", expected="Welcome")],
        priority=Priority.HIGH,
        type=CaseType.SMOKE,
        tags=["ui", "smoke"],
        requirements=["4192353"],
    )
    base.update(kw)
    return Case(**base)


def _seed_cases(adapter, sim, n: int, prefix: str) -> list[str]:
    """Cases put straight into the simulator (faster than n creates over HTTP; the create path has its own test)."""
    service = adapter.service_id()
    with sim._lock:
        return [sim._create_case({"name": f"{prefix} {i}", "service_id": service})["testcase_id"] for i in range(n)]


def test_seeded_read_only_our_service_and_markers(adapter, sim):
    cases = list(adapter.iter_cases())
    assert len(cases) == 30  # the 3 cases of the other service are not ours
    assert all(c.marker is None for c in cases)  # generated numbers are not bridge markers
    assert {c.folder for c in cases} <= {("Login",), ("Login", "SSO"), ("Billing",), ("Reports",)}
    assert all(c.steps for c in cases)


def test_create_round_trip_and_marker_lookup(adapter):
    case = _case()
    stored = adapter.create_case(case, marker="0f1e2d3c-marker")
    assert stored.content() == case.content()  # what is read back equals what was written: no echo
    assert stored.marker == "0f1e2d3c-marker"
    assert adapter.find_case_by_marker("0f1e2d3c-marker") == stored
    assert adapter.find_case_by_marker("unknown-marker") is None
    assert adapter.get_case(stored.id) == stored
    changed = case.model_copy(update={"title": "Login still works", "tags": ["api"], "folder": ("Other",)})
    updated = adapter.update_case(stored.id, changed)
    assert updated.content() == changed.content()
    assert updated.marker == "0f1e2d3c-marker"  # the update keeps our number
    adapter.delete_case(stored.id)
    assert adapter.get_case(stored.id) is None


def test_never_truncates(adapter, sim):
    bad = _case(
        steps=[Step(action="x" * 2000, expected="ok")],
        tags=[f"t{i}" for i in range(30)],
        description="d" * 700,
        folder=("A very long folder name", "and deeper"),
        automation_key="pkg.Test.login",
    )
    fields = {p.field for p in adapter.check_case(bad)}
    assert {"steps[1].action", "tags", "description", "folder", "automation_key"} <= fields
    assert adapter.check_case(_case()) == []
    assert adapter.check_case(_case(title="ab"))[0].field == "title"
    before = len(sim.cases)
    with pytest.raises(CannotRepresent) as info:
        adapter.create_case(bad, marker="m-bad")
    assert any(p.field == "description" for p in info.value.problems)
    assert len(sim.cases) == before  # nothing was sent
    stored = adapter.create_case(_case(), marker="m-ok")
    with pytest.raises(CannotRepresent):
        adapter.update_case(stored.id, bad)


def test_plan_create_with_120_cases_uses_3_batch_adds(adapter, sim):
    ids = _seed_cases(adapter, sim, 120, "Case number")
    sim.log.clear()
    plan = Plan(
        name="Sprint 7",
        start_date=date(2024, 6, 1),
        end_date=date(2024, 6, 14),
        runs=[PlanRun(name="Sprint 7", case_ids=ids)],
    )
    stored = adapter.create_plan(plan, marker="plan-m1")
    assert sim.log.count("POST", "batch-add") == 3
    assert stored.marker == "plan-m1" and stored.name == "Sprint 7"
    assert stored.case_ids() == set(ids)
    assert stored.runs[0].name == "Sprint 7"
    assert (stored.start_date, stored.end_date) == (date(2024, 6, 1), date(2024, 6, 14))
    assert adapter.find_plan_by_marker("plan-m1") == stored
    assert {p.id for p in adapter.iter_plans()} >= {stored.id}
    # adding cases works; changing what the API cannot change is refused
    extra = adapter.create_case(_case("Late case"), marker="late").id
    grown = plan.model_copy(update={"runs": [PlanRun(name="Sprint 7", case_ids=ids + [extra])]})
    assert extra in adapter.update_plan(stored.id, grown).case_ids()
    with pytest.raises(CannotRepresent):
        adapter.update_plan(stored.id, grown.model_copy(update={"name": "Renamed"}))
    assert adapter.check_plan(plan.model_copy(update={"description": "text"}))[0].field == "description"


def test_partial_batch_failure_is_reported_per_item(adapter, sim):
    ids = _seed_cases(adapter, sim, 60, "Case")
    plan = adapter.create_plan(Plan(name="Partial", runs=[]), marker="pp")
    sim.fail_case_ids = {ids[3], ids[55]}
    with pytest.raises(PartialBatchFailure) as info:
        adapter.add_cases_to_plan(plan.id, ids)
    assert {f.item_id for f in info.value.failures} == {ids[3], ids[55]}
    assert all(f.code and f.message for f in info.value.failures)
    assert len(info.value.succeeded) == 58
    assert sim.plans[plan.id]["case_ids"] == set(ids) - {ids[3], ids[55]}


def test_results_in_batches_idempotent_and_read_back(adapter, sim):
    ids = _seed_cases(adapter, sim, 70, "Result case")
    plan = adapter.create_plan(Plan(name="Run", runs=[PlanRun(name="Run", case_ids=ids)]), marker="rp")
    when = datetime(2024, 6, 2, 10, 0, tzinfo=UTC)
    results = [
        Result(
            case_id=cid,
            plan_id=plan.id,
            status=Status.PASSED if i % 2 else Status.FAILED,
            elapsed_seconds=1.5,
            comment="ci run",
            executed_at=when,
            marker=f"ci-run-42-{i}",
        )
        for i, cid in enumerate(ids)
    ]
    sim.log.clear()
    stored = adapter.add_results(results)
    assert [r.case_id for r in stored] == ids and all(r.id for r in stored)
    assert sim.log.count("POST", "testcases/execution") == 2 and sim.log.count("POST", "testcases/result") == 2
    adapter.add_results(results)  # the same markers again: already recorded, not counted twice
    read = {r.case_id: r for r in adapter.iter_results(plan_id=plan.id)}
    assert len(read) == 70
    assert read[ids[1]].status == Status.PASSED and read[ids[0]].status == Status.FAILED
    assert read[ids[0]].elapsed_seconds == 1.5 and read[ids[0]].executed_at == when
    assert sim.cases[ids[0]]["execute_count"] == 1
    with pytest.raises(CannotRepresent):
        adapter.add_results([Result(case_id=ids[0], plan_id=plan.id, status=Status.BLOCKED)])
    sim.fail_case_ids = {ids[5]}
    with pytest.raises(PartialBatchFailure) as info:
        adapter.add_results(
            [Result(case_id=c, plan_id=plan.id, status=Status.PASSED, marker=f"x{i}") for i, c in enumerate(ids[:10])]
        )
    assert [f.item_id for f in info.value.failures] == [ids[5]]


def test_throttling_is_backed_off(adapter, sim):
    sim.faults.throttle_next = 2
    sim.faults.retry_after = 0
    started = time.monotonic()
    assert adapter.get_case("0" * 32) is None
    assert time.monotonic() - started < 5
    assert sim.faults.throttle_next == 0  # both throttled answers were waited out, the third attempt answered
    # throttling is bounded by time, not by max_retries: ten in a row are waited out too (see bridge/http.py)
    sim.faults.throttle_next = 10
    adapter.client.list_plans_v2(0, 10)
    assert sim.faults.throttle_next == 0


def test_wrong_secret_is_auth_error(sim, server):
    adapter = make_adapter(server.url, {**sim.credentials(), "sk": "wrong"})
    with pytest.raises(AuthError) as info:
        adapter.connect()
    assert info.value.code == "APIG.0301"


def _token_adapter(sim, server):
    creds = {k: v for k, v in sim.credentials().items() if k not in ("ak", "sk")}
    return make_adapter(server.url, creds, iam_url=server.url)


def test_token_auth_expiry_and_refresh():
    sim = CodeArtsSimulator(seed=2, token_lifetime=2)
    with sim.serve() as server:
        adapter = _token_adapter(sim, server)
        adapter.connect()
        auth = adapter.client.auth
        assert isinstance(auth, IamTokenAuth)
        assert len(list(adapter.iter_plans())) == 1
        assert sim.token_requests == 1  # cached across requests
        time.sleep(2.1)  # past the lifetime: renewed before use, not after a failure
        assert adapter.client.list_environments()["total_count"] == 1
        assert sim.token_requests == 2
        sim.expire_tokens()  # revoked server-side: 401 CLOUDTEST.00050001 -> renew once, repeat
        sim.log.clear()
        assert adapter.client.list_environments()["environments"][0]["is_default"] is True
        assert sim.token_requests == 3
        adapter.close()


def test_token_auth_wrong_password(sim, server):
    creds = {k: v for k, v in sim.credentials().items() if k not in ("ak", "sk")}
    adapter = make_adapter(server.url, {**creds, "iam_password": "not-the-password-1"}, iam_url=server.url)
    with pytest.raises(AuthError, match="password"):
        adapter.connect()


def test_documented_operations(adapter, sim):
    c = adapter.client
    envs = c.list_environments(0, 200)
    assert envs["environments"][0]["environment_name"] == "Default environment"
    suite = c.create_api_test_suite("jalor_test_suite", "aa03aeee96fa48f0acc223f0ab503a1f", "master", "apitest.yaml")
    assert len(suite["testsuite_id"]) == 32 and suite["testcase_ids"]
    with pytest.raises(ValueError):
        c.create_api_test_suite("x", "short", "master", "a.yaml")
    ours = adapter.service_id()
    plan_ids = [c.create_plan({"name": f"Plan {i}", "service_id_list": [ours], "plan_cycle": {}}) for i in range(4)]
    # v1 offset is a page number, v2 a 0-based position
    v1_page2 = [p["plan_id"] for p in c.list_plans_v1(2, 2)]
    v2_from2 = [p["plan_id"] for p in c.list_plans_v2(2, 2)]
    all_ids = [p["plan_id"] for p in c.list_plans_v2(0, 200)]
    assert v1_page2 == all_ids[2:4] and v2_from2 == all_ids[2:4] and set(plan_ids) < set(all_ids)
    with pytest.raises(ValueError):
        c.list_plans_v1(0, 10)
    case = adapter.create_case(_case(), marker="ops")
    adapter.add_cases_to_plan(plan_ids[0], [case.id])
    issues = c.plan_issues(plan_ids[0])
    assert [i["workitem_id"] for i in issues] == ["4192353"]
    journals = c.plan_journals(plan_ids[0])
    assert any(d["added"] for j in journals for d in j["detail"])
    history = c.case_histories(case.id, plan_ids[0])
    assert history["values"][0]["testcase_id"] == case.id
    with pytest.raises(ValueError):
        c.batch_add_cases(plan_ids[0], ours, ["a" * 32] * 50)
    with pytest.raises(ValueError):
        c.run_cases(ours, [{}] * 51)
