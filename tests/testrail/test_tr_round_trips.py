"""What the TestRail adapter asks for, and what it asks for at once: a server tens of milliseconds away makes
every request that waits for another one a round trip of its own."""

from __future__ import annotations

from tr_helpers import make_adapter

from adapters.simulation import LoopbackServer
from adapters.testrail.adapter import TestRailAdapter
from adapters.testrail.simulator import TestRailSimulator
from bridge.model import Plan, PlanRun


def _routes(sim: TestRailSimulator, since: int = 0) -> list[str]:
    return [e.query.split("/api/v2/")[1].split("&")[0].split("/")[0] for e in sim.log.entries[since:]]


def test_connect_asks_what_needs_no_project_with_the_project(sim: TestRailSimulator, server: LoopbackServer) -> None:
    sim.faults.latency = 0.2  # the project's answer comes 0.2 s after the request: long after a request sent with it
    with make_adapter(sim, server) as adapter:
        assert adapter.project_id and adapter.suite_id
        connected = _routes(sim)
        # the case fields went out with get_projects, so they are answered before get_suites (which needs its id)
        assert sorted(connected[:2]) == ["get_case_fields", "get_projects"]
        assert sorted(connected[2:]) == ["get_labels", "get_suites"]
        assert 6 in adapter.statuses  # the statuses are read when asked for, once
        assert 6 in adapter.statuses and _routes(sim)[4:] == ["get_statuses"]


def test_a_plan_without_milestone_or_configuration_reads_neither(
    adapter: TestRailAdapter, sim: TestRailSimulator
) -> None:
    logged = len(sim.log.entries)
    plain = adapter.create_plan(Plan(name="CI", runs=[PlanRun(name="CI", case_ids=["1", "2"])]), marker="m-plain")
    assert plain.runs[0].case_ids == ["1", "2"]
    assert _routes(sim, logged) == ["add_plan"]
    assert adapter.get_plan(plain.id or "") == plain
    assert "get_milestones" not in _routes(sim, logged) and "get_configs" not in _routes(sim, logged)

    logged = len(sim.log.entries)
    named = Plan(
        name="Release", milestone="Release 1.0", runs=[PlanRun(name="B", configuration=["Chrome"], case_ids=["1"])]
    )
    stored = adapter.create_plan(named, marker="m-named")
    assert stored.milestone == "Release 1.0" and stored.runs[0].configuration == ["Chrome"]
    assert sorted(_routes(sim, logged)) == ["add_plan", "get_configs", "get_milestones"]  # each read once


def test_users_read_ahead_for_results_and_a_failure_left_to_add_results(
    sim: TestRailSimulator, server: LoopbackServer
) -> None:
    with make_adapter(sim, server, max_retries=0) as adapter:
        sim.faults.fail_next = 1
        adapter.prepare_results()  # the failure is not raised here
        assert _routes(sim)[-1] == "get_users"
        logged = len(sim.log.entries)
        adapter.prepare_results()
        adapter.prepare_results()
        assert _routes(sim, logged) == ["get_users"]  # read once it is answered
        assert adapter.users()
