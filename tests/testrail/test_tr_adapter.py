"""The adapter against the simulator on loopback: every endpoint it uses, pagination, faults, round trips."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from tr_helpers import make_adapter

from adapters.testrail.adapter import TestRailAdapter
from adapters.testrail.simulator import TestRailSimulator
from bridge.errors import AuthError, CannotRepresent, ConfigError, ValidationFailed
from bridge.http import counting
from bridge.model import Case, CaseType, Plan, PlanRun, PlanState, Priority, Result, Status, Step


def new_case(**kw: object) -> Case:
    values: dict[str, object] = {
        "folder": ("Payments", "Cards"),
        "title": "Pay with a saved card",
        "description": "Covers **saved** cards",
        "preconditions": "User has a card\n\nCart is not empty",
        "steps": [
            Step(action="Open checkout", expected="The card is listed"),
            Step(action="Press `Pay` & confirm", expected="- receipt shown\n- mail sent"),
        ],
        "priority": Priority.HIGH,
        "type": CaseType.REGRESSION,
        "requirements": ["REQ-2", "REQ-1"],
        "automation_key": "tests.pay.TestCard.test_saved",
        "estimate_seconds": 65,
    }
    values.update(kw)
    return Case(**values)  # type: ignore[arg-type]


def test_connect_resolves_project_by_name_and_id(sim: TestRailSimulator, server, adapter: TestRailAdapter) -> None:
    assert adapter.project_id == 1 and adapter.suite_id == 1
    with make_adapter(sim, server, project=1) as by_id:
        assert isinstance(by_id, TestRailAdapter) and by_id.suite_id == 1
    assert "custom_tpb_marker" in adapter.custom_fields
    assert 6 in adapter.statuses  # the custom status is discovered


def test_wrong_key_is_auth_error_with_hint(sim: TestRailSimulator, server) -> None:
    # connect's first reads go out side by side: when one's refusal arrives before the other is sent, that
    # one is held back (NotSent), and it used to be what connect raised, about one connect in sixty. Many
    # connects, so that order comes up
    for _ in range(60):
        adapter = make_adapter(sim, server, api_key="wrong-key-123")
        with pytest.raises(AuthError) as err:
            adapter.connect()
        assert "Authentication failed" in str(err.value) and "API Keys" in str(err.value)
        assert "wrong-key-123" not in str(err.value)
        adapter.close()


def test_missing_marker_field_fails_connect_naming_it(server) -> None:
    sim = TestRailSimulator(seed=1, marker_field=False)
    with sim.serve() as srv, pytest.raises(ConfigError, match="custom_tpb_marker"):
        make_adapter(sim, srv).connect()


def test_multi_suite_project_needs_suite_id() -> None:
    sim = TestRailSimulator(seed=3, suite_mode=3)
    with sim.serve() as srv:
        with pytest.raises(ConfigError, match="suite_id"):
            make_adapter(sim, srv).connect()
        with make_adapter(sim, srv, suite_id=2) as a:
            assert isinstance(a, TestRailAdapter)
            assert a.suite_id == 2 and list(a.iter_cases()) == []
            a.create_case(new_case(), marker="m-suite2")
            assert [c.title for c in a.iter_cases()] == ["Pay with a saved card"]


def test_folders_and_ensure_folder(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    paths = {f.path for f in adapter.iter_folders()}
    assert ("Checkout", "Search details") in paths
    before = len(sim.sections)
    sid = adapter.ensure_folder(["Checkout", "Search details", "Deep", "Deeper"])
    assert len(sim.sections) == before + 2
    assert sim.sections[int(sid)]["depth"] == 3
    assert adapter.ensure_folder(["Checkout", "Search details", "Deep", "Deeper"]) == sid
    assert len(sim.sections) == before + 2


def test_seeded_cases_read_in_one_page(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    sim.log.clear()
    cases = list(adapter.iter_cases())
    assert len(cases) == 30
    assert sim.log.count(contains="get_cases") == 1
    first = next(c for c in cases if c.id == "1")
    assert first.folder == ("Login",)
    assert first.steps[0].action.startswith("Step 1: do **action")
    assert first.preconditions == "User is signed in"
    assert first.automation_key == "tests.app.Test0.test_case_1"
    assert first.requirements == ["REQ-100"]


def test_case_round_trip_create_update_delete(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    case = new_case()
    stored = adapter.create_case(case, marker="tpb-1")
    assert stored.content() == case.content()  # read back equals what was written: no echo
    assert stored.marker == "tpb-1"
    raw = sim.cases[int(stored.id or 0)]
    assert raw["estimate"] == "1m 5s" and raw["refs"] == "REQ-1,REQ-2" and raw["priority_id"] == 3
    assert raw["custom_steps_separated"][0]["content"] == "Open checkout"  # plain text stays plain
    assert adapter.get_case(stored.id or "") == stored
    assert adapter.find_case_by_marker("tpb-1") == stored

    changed = case.model_copy(
        update={"title": "Pay with a saved card (3DS)", "folder": ("Payments",), "steps": [], "priority": None}
    )
    updated = adapter.update_case(stored.id or "", changed)
    assert updated.folder == ("Payments",) and updated.steps == [] and updated.title.endswith("(3DS)")
    assert updated.marker == "tpb-1"

    adapter.delete_case(stored.id or "")
    assert adapter.get_case(stored.id or "") is None


def test_html_case_text_reads_as_canonical(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    sid = adapter.ensure_folder(["Html"])
    sim.cases[1].update({"custom_automation_id": "<p>tests.a.B.test_c&amp;d</p>", "section_id": int(sid)})
    sim.cases[1]["custom_preconds"] = "<p>Line one<br>line <em>two</em></p><ul><li>a</li><li>b</li></ul>"
    case = adapter.get_case("1")
    assert case is not None
    assert case.automation_key == "tests.a.B.test_c&d"
    assert case.preconditions == "Line one\nline *two*\n\n- a\n- b"
    assert case.folder == ("Html",)
    again = adapter.update_case("1", case)
    assert again.content() == case.content()


def test_unrepresentable_case_is_refused_not_truncated(adapter: TestRailAdapter) -> None:
    case = new_case(title="x" * 251, tags=["smoke", "a label: 21 chars long"], custom={"custom_nope": "1"})
    problems = {p.field for p in adapter.check_case(case)}
    assert {"title", "tags", "custom.custom_nope"} <= problems
    with pytest.raises(CannotRepresent):
        adapter.create_case(case, marker="m")


def test_incremental_read_uses_updated_after(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    sim.clock = lambda: 1_800_000_000
    adapter.update_case("2", adapter.get_case("2") or new_case())
    sim.log.clear()
    changed = list(adapter.iter_cases(since=datetime.fromtimestamp(1_799_999_000, UTC)))
    assert [c.id for c in changed] == ["2"]
    assert sim.log.count(contains="updated_after=1799998999") == 1


@pytest.mark.parametrize("legacy", [False, True])
def test_pagination_across_pages(legacy: bool) -> None:
    sim = TestRailSimulator(seed=5, cases=620, sections=7, steps=1, legacy_pagination=legacy)
    with sim.serve() as srv, make_adapter(sim, srv) as adapter:
        sim.log.clear()
        cases = list(adapter.iter_cases())
        assert len({c.id for c in cases}) == 620
        assert sim.log.count(contains="get_cases") == 3  # 250 + 250 + 120, never one by one


def test_throttling_answer_is_waited_out(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    sim.faults.throttle_next = 2
    sim.faults.retry_after = 1
    started = time.monotonic()
    assert adapter.get_case("3") is not None
    assert time.monotonic() - started >= 1.9  # two Retry-After: 1 waits
    assert [e.status for e in sim.log.entries if "get_case/3" in e.query] == [429, 429, 200]


def test_server_error_burst_is_retried(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    sim.faults.fail_next = 3
    with counting() as delta:
        assert len(list(adapter.iter_cases())) == 30
    statuses = [k.status for k in delta()]
    assert 500 in statuses and 200 in statuses


def test_required_custom_field_error_names_the_field(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    sim.add_case_field("custom_component", required=True)
    with pytest.raises(ValidationFailed) as err:
        adapter.create_case(new_case(), marker="m-req")
    text = str(err.value)
    assert "Field :custom_component is a required field." in text
    assert "add_case" in text and "'custom_component'" in text and "Customizations" in text
    # with the field discovered and a value given, the case goes in
    adapter.connect()
    assert adapter.required_fields == ["custom_component"]
    stored = adapter.create_case(new_case(custom={"custom_component": "payments"}), marker="m-req")
    assert stored.custom == {"custom_component": "payments"}


def test_plan_read_from_seed(adapter: TestRailAdapter) -> None:
    plans = list(adapter.iter_plans())
    assert len(plans) == 1
    plan = plans[0]
    assert plan.name == "Regression plan" and plan.milestone == "Release 1.0" and plan.state is PlanState.ACTIVE
    assert [(r.name, r.configuration, len(r.case_ids)) for r in plan.runs] == [
        ("Cross browser", ["Chrome", "Windows 11"], 10),
        ("Cross browser", ["Firefox", "Windows 11"], 5),
    ]


def shape(plan: Plan) -> dict[str, object]:
    """Plan content without the native run ids (which only the system assigns), runs in a stable order."""
    content = plan.content()
    content["runs"] = sorted(
        ((r["name"], tuple(r["configuration"]), tuple(r["case_ids"])) for r in content["runs"]), key=str
    )
    return content


def test_plan_create_update_close_delete(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    plan = Plan(
        name="Release check",
        description="Before *release*",
        milestone="Release 1.0",
        runs=[
            PlanRun(name="Smoke", case_ids=["1", "2", "3"]),
            PlanRun(name="Browsers", configuration=["Chrome", "Ubuntu 24"], case_ids=["4", "5"]),
            PlanRun(name="Browsers", configuration=["Firefox", "Ubuntu 24"], case_ids=["4"]),
        ],
    )
    logged = len(sim.log.entries)
    stored = adapter.create_plan(plan, marker="plan-m1")
    assert shape(stored) == shape(plan)
    # the membership came from what was sent, not read back test by test; a fresh read agrees (below)
    assert not [e for e in sim.log.entries[logged:] if "get_tests" in e.query]
    assert stored.marker == "plan-m1" and "[tpb:plan-m1]" in sim.plans[int(stored.id or 0)]["description"]
    assert adapter.find_plan_by_marker("plan-m1") == stored
    entries = [e for e in sim.entries.values() if e["plan_id"] == int(stored.id or 0)]
    assert sorted(len(e["run_ids"]) for e in entries) == [1, 2]

    changed = plan.model_copy(
        update={
            "name": "Release check 2",
            "description": "Changed",
            "runs": [
                PlanRun(name="Smoke", case_ids=["1", "2"]),
                PlanRun(name="Browsers", configuration=["Chrome", "Ubuntu 24"], case_ids=["4", "5", "6"]),
                PlanRun(name="Nightly", case_ids=["7"]),
            ],
        }
    )
    updated = adapter.update_plan(stored.id or "", changed)
    assert shape(updated) == shape(changed)
    assert updated.marker == "plan-m1"

    closed = adapter.update_plan(stored.id or "", changed.model_copy(update={"state": PlanState.COMPLETED}))
    assert closed.state is PlanState.COMPLETED
    with pytest.raises(CannotRepresent, match="closed"):
        adapter.update_plan(stored.id or "", changed)

    adapter.delete_plan(stored.id or "")
    assert adapter.get_plan(stored.id or "") is None


def test_plan_with_unknown_configuration_is_refused(adapter: TestRailAdapter) -> None:
    plan = Plan(name="P", runs=[PlanRun(name="R", configuration=["Safari"], case_ids=["1"])])
    assert [p.field for p in adapter.check_plan(plan)] == ["runs[R].configuration"]
    with pytest.raises(CannotRepresent):
        adapter.create_plan(plan, marker="x")


def test_results_add_in_batches_and_read_back(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    plan = adapter.create_plan(Plan(name="Results", runs=[PlanRun(name="All", case_ids=["1", "2", "3"])]), marker="r")
    run_id = plan.runs[0].id
    results = [
        Result(case_id="2", run_id=run_id, status=Status.FAILED, comment="boom", elapsed_seconds=65, defects=["BUG-1"]),
        Result(case_id="1", plan_id=plan.id, status=Status.PASSED, elapsed_seconds=3),
        Result(case_id="3", run_id=run_id, status=Status.BLOCKED),
    ]
    sim.log.clear()
    stored = adapter.add_results(results)
    assert sim.log.count("POST", contains="add_results_for_cases") == 1
    assert [(r.case_id, r.status) for r in stored] == [
        ("2", Status.FAILED),
        ("1", Status.PASSED),
        ("3", Status.BLOCKED),
    ]
    assert all(r.id for r in stored) and stored[0].elapsed_seconds == 65 and stored[0].defects == ["BUG-1"]
    read = list(adapter.iter_results(plan_id=plan.id))
    assert {r.id for r in read} == {r.id for r in stored}
    assert {r.executed_by for r in read} == {"bridge@example.com"}


def test_result_batches_go_out_side_by_side_only_when_order_cannot_matter() -> None:
    sim = TestRailSimulator(seed=7, cases=600, sections=5)
    with sim.serve() as server, make_adapter(sim, server) as adapter:
        assert isinstance(adapter, TestRailAdapter)
        case_ids = sorted(str(c) for c in sim.cases)[:600]
        plan = adapter.create_plan(Plan(name="Many", runs=[PlanRun(name="All", case_ids=case_ids)]), marker="many")
        run_id = plan.runs[0].id
        statuses = [Status.PASSED, Status.FAILED, Status.BLOCKED]

        # one result per case, three batches posted at once: every stored result is the one sent at its place
        sent = [Result(case_id=c, run_id=run_id, status=statuses[i % 3]) for i, c in enumerate(case_ids)]
        sim.log.clear()
        stored = adapter.add_results(sent)
        assert sim.log.count("POST", contains="add_results_for_cases") == 3
        assert [(r.case_id, r.status) for r in stored] == [(r.case_id, r.status) for r in sent]
        test_case = {t["id"]: t["case_id"] for t in sim.tests.values()}
        assert all(str(test_case[sim.results[int(r.id or 0)]["test_id"]]) == r.case_id for r in stored)

        # a case with two results in different batches: the batches go one after the other, in order
        events = [Result(case_id=case_ids[0], run_id=run_id, status=Status.FAILED)]
        events += [Result(case_id=c, run_id=run_id, status=Status.PASSED) for c in case_ids[1:299]]
        events += [Result(case_id=case_ids[0], run_id=run_id, status=Status.PASSED)]
        stored = adapter.add_results(events)
        ids = [int(r.id or 0) for r in stored]
        assert ids == sorted(ids) and len(set(ids)) == 300
        first = [r for r in adapter.iter_results(plan_id=plan.id) if r.case_id == case_ids[0]]
        assert max(first, key=lambda r: int(r.id or 0)).status is Status.PASSED


def test_custom_status_is_not_guessed(adapter: TestRailAdapter, sim: TestRailSimulator) -> None:
    sim.results[1]["status_id"] = 6
    results = list(adapter.iter_results(plan_id="1"))
    assert "1" not in {r.id for r in results} and len(results) == 5
    assert [u.record for u in adapter.unrepresentable_results] == ["1"]


def test_custom_status_mapped_by_value_map(sim: TestRailSimulator, server) -> None:
    sim.results[1]["status_id"] = 6
    settings_extra = {"value_maps": {"status": {"6": "skipped"}}}
    with make_adapter(sim, server, **settings_extra) as a:
        assert isinstance(a, TestRailAdapter)
        assert Status.SKIPPED in {r.status for r in a.iter_results(plan_id="1")}
