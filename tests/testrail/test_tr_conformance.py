"""Independent clients against the simulator: TestRail's own CLI (trcli) and the testrail-api package.

If they cannot work against the simulator, the simulator is wrong. trcli runs from its own virtualenv
(trcli_env.py) so its pins do not constrain ours.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import testrail_api
from trcli_env import run_trcli, trcli_executable

from adapters.simulation import LoopbackServer
from adapters.testrail.simulator import TestRailSimulator

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="ci">
  <testsuite name="ci suite" tests="3" failures="1" skipped="1">
    <testcase classname="tests.app.Test0" name="test_case_1" time="1.5"/>
    <testcase classname="tests.new.TestNew" name="test_fresh" time="2">
      <failure message="boom">trace</failure>
    </testcase>
    <testcase classname="tests.new.TestNew" name="test_skip" time="0"><skipped/></testcase>
  </testsuite>
</testsuites>
"""


@pytest.fixture(scope="session")
def trcli() -> Path:
    return trcli_executable()


def api_for(sim: TestRailSimulator, server: LoopbackServer) -> testrail_api.TestRailAPI:
    c = sim.credentials()
    return testrail_api.TestRailAPI(server.url, c["user"], c["api_key"], warn_ignore=True)


def test_testrail_api_bulk_reads(sim: TestRailSimulator, server: LoopbackServer) -> None:
    big = TestRailSimulator(seed=2, cases=600, sections=4, steps=1)
    with big.serve() as srv:
        api = api_for(big, srv)
        cases = api.cases.get_cases_bulk(1, suite_id=1)
        assert len({c["id"] for c in cases}) == 600
        assert big.log.count(contains="get_cases") == 3
        assert len(api.sections.get_sections_bulk(1, suite_id=1)) == 4
    api = api_for(sim, server)
    assert [p["name"] for p in api.projects.get_projects()["projects"]] == ["Bridge Demo"]
    assert {s["id"] for s in api.statuses.get_statuses()} == {1, 2, 3, 4, 5, 6}
    assert any(f["system_name"] == "custom_automation_id" for f in api.case_fields.get_case_fields())
    assert len(api.plans.get_plans_bulk(1)) == 1


def test_testrail_api_plans_crud_and_results(sim: TestRailSimulator, server: LoopbackServer) -> None:
    api = api_for(sim, server)
    plan = api.plans.add_plan(
        1,
        name="Via testrail-api",
        milestone_id=1,
        entries=[
            {"suite_id": 1, "name": "Plain", "include_all": False, "case_ids": [1, 2]},
            {
                "suite_id": 1,
                "name": "Matrix",
                "include_all": False,
                "case_ids": [3],
                "config_ids": [1, 2, 4],
                "runs": [{"config_ids": [1, 4]}, {"config_ids": [2, 4], "case_ids": [3, 4]}],
            },
        ],
    )
    pid = plan["id"]
    assert [len(e["runs"]) for e in plan["entries"]] == [1, 2]
    assert plan["entries"][1]["runs"][1]["config"] == "Firefox, Ubuntu 24"
    entry = api.plans.add_plan_entry(pid, suite_id=1, name="All combos", include_all=True, config_ids=[1, 2, 3])
    assert {r["config"] for r in entry["runs"]} == {"Chrome, Windows 11", "Firefox, Windows 11"}
    assert api.plans.update_plan(pid, name="Renamed")["name"] == "Renamed"
    updated = api.plans.update_plan_entry(pid, entry["id"], include_all=False, case_ids=[5])
    assert {t["case_id"] for r in updated["runs"] for t in api.tests.get_tests(r["id"])["tests"]} == {5}
    api.plans.delete_plan_entry(pid, entry["id"])
    assert len(api.plans.get_plan(pid)["entries"]) == 2

    run_id = plan["entries"][0]["runs"][0]["id"]
    added = api.results.add_results_for_cases(
        run_id,
        results=[{"case_id": 2, "status_id": 5, "comment": "x"}, {"case_id": 1, "status_id": 1, "elapsed": "65s"}],
    )
    assert [r["status_id"] for r in added] == [5, 1] and added[1]["elapsed"] == "1m 5s"
    assert len(api.results.get_results_for_run(run_id)["results"]) == 2
    assert sim.plans[pid]["name"] == "Renamed"

    closed = api.plans.close_plan(pid)
    assert closed["is_completed"] and all(r["is_completed"] for e in closed["entries"] for r in e["runs"])
    api.plans.delete_plan(pid)
    assert pid not in sim.plans and run_id not in sim.runs
    assert not [r for r in sim.results.values() if r["test_id"] not in sim.tests]


def _upload(trcli: Path, sim: TestRailSimulator, server: LoopbackServer, tmp_path: Path, *extra: str) -> str:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    c = sim.credentials()
    proc = run_trcli(
        [
            "-y",
            "-h",
            server.url,
            "--project",
            c["project"],
            "-u",
            c["user"],
            "-k",
            c["api_key"],
            "parse_junit",
            "-f",
            str(report),
            "--title",
            "CI upload",
            *extra,
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _check_cases_and_results(sim: TestRailSimulator, run: dict[str, object]) -> None:
    by_automation = {c["custom_automation_id"]: c for c in sim.cases.values() if c["custom_automation_id"]}
    # the existing case matched on its automation id; two new cases were added in a section named after the suite
    assert by_automation["tests.app.Test0.test_case_1"]["id"] == 1
    fresh = by_automation["tests.new.TestNew.test_fresh"]
    assert sim.sections[fresh["section_id"]]["name"] == "ci suite"
    statuses = {
        sim.tests[r["test_id"]]["case_id"]: r["status_id"]
        for r in sim.results.values()
        if sim.tests[r["test_id"]]["run_id"] == run["id"]
    }
    assert statuses == {1: 1, fresh["id"]: 5, by_automation["tests.new.TestNew.test_skip"]["id"]: 4}


def test_trcli_parse_junit_creates_run(
    trcli: Path, sim: TestRailSimulator, server: LoopbackServer, tmp_path: Path
) -> None:
    _upload(trcli, sim, server, tmp_path)
    runs = [r for r in sim.runs.values() if r["name"] == "CI upload"]
    assert len(runs) == 1 and runs[0]["plan_id"] is None
    _check_cases_and_results(sim, runs[0])


def test_trcli_parse_junit_into_plan_with_configs(
    trcli: Path, sim: TestRailSimulator, server: LoopbackServer, tmp_path: Path
) -> None:
    _upload(trcli, sim, server, tmp_path, "--plan-id", "1", "--config-ids", "2,4")
    runs = [r for r in sim.runs.values() if r["name"] == "CI upload"]
    assert len(runs) == 1 and runs[0]["plan_id"] == 1
    assert runs[0]["config"] == "Firefox, Ubuntu 24"
    _check_cases_and_results(sim, runs[0])
    # a second upload of the same report adds no cases (matching by automation id works)
    before = len(sim.cases)
    _upload(trcli, sim, server, tmp_path, "--plan-id", "1", "--config-ids", "2,4")
    assert len(sim.cases) == before
