"""ci push end to end: the CLI in-process against the TestRail simulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.testrail.simulator import TestRailSimulator
from tests.ci.conftest import FIXTURES, run_cli, write_config


def _args(config: Path, *more: str) -> list[str]:
    return ["ci", "push", "--config", str(config), "--to", "tr", *more]


def test_push_matches_creates_plan_and_posts_in_bulk(testrail: tuple[TestRailSimulator, Path], tmp_path: Path) -> None:
    sim, config = testrail
    report_path = tmp_path / "report.json"
    code = run_cli(
        _args(config, "--junit", str(FIXTURES / "pytest.xml"), "--plan", "Nightly", "--report-json", str(report_path))
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["matched_by"] == {"case id": 2}  # C1 by property, C3 in the name
    assert report["unmatched"] == [
        "tests.test_login.test_login_wrong_password",
        "tests.test_cart.test_add_item",
        "tests.test_cart.test_remove_item",
    ]
    assert report["plan_created"] and report["posted"] == 2
    # TestRail has no "skipped": it is posted as retest, as trcli does
    assert report["statuses"] == {"passed": 1, "retest": 1}
    results = sorted((r for r in sim.results.values() if str(r["id"]) in report["result_ids"]), key=lambda r: r["id"])
    assert [r["status_id"] for r in results] == [1, 4]
    assert "account service down" in results[1]["comment"]
    assert sim.log.count("POST", "add_results_for_cases") == 1
    plan = sim.plans[int(report["plan_id"])]
    assert plan["name"] == "Nightly"


def test_unmatched_policy_and_second_push_reuses_the_plan(
    testrail: tuple[TestRailSimulator, Path], tmp_path: Path
) -> None:
    sim, config = testrail
    junit = str(FIXTURES / "pytest.xml")
    assert run_cli(_args(config, "--junit", junit, "--plan", "Nightly", "--fail-on", "unmatched")) == 3
    assert run_cli(_args(config, "--junit", junit, "--plan", "Other", "--fail-on", "never")) == 0  # listed first
    plans_before = len(sim.plans)
    sim.log.clear()
    assert run_cli(_args(config, "--junit", junit, "--plan", "Nightly", "--fail-on", "never")) == 0
    assert len(sim.plans) == plans_before  # found by name, not created again
    # found in the plan listing; only Nightly itself is read in full (a project has hundreds of plans)
    assert sim.log.count("GET", "get_plan/") == 1


def test_create_missing_cases_then_close(testrail: tuple[TestRailSimulator, Path], tmp_path: Path) -> None:
    sim, config = testrail
    report_path = tmp_path / "r.json"
    code = run_cli(
        _args(
            config,
            "--junit",
            str(FIXTURES / "nested.xml"),
            "--junit",
            str(FIXTURES / "jest.xml"),
            "--plan",
            "Release",
            "--run",
            "API",
            "--create-missing-cases",
            "--close",
            "--report-json",
            str(report_path),
            "--fail-on",
            "unmatched",
        )
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    # nested.xml "grant" names case 7 (exists in the seeded project); the other five are created
    assert report["matched_by"] == {"case id": 1, "created": 5} and len(report["created"]) == 5
    created = [sim.cases[int(cid)] for cid in report["created"]]
    assert {c["custom_automation_id"] for c in created} >= {"api.v1.Users.list", "Cart adds an item.Cart adds an item"}
    assert all(c["custom_tpb_marker"].startswith("tpb-") for c in created)
    plan = sim.plans[int(report["plan_id"])]
    assert plan["is_completed"] and report["closed"] and report["run_name"] == "API"
    # pushing again matches the created cases by automation key: nothing created twice
    report2 = tmp_path / "r2.json"
    assert (
        run_cli(
            _args(
                config,
                "--junit",
                str(FIXTURES / "jest.xml"),
                "--plan",
                "Release 2",
                "--create-missing-cases",
                "--report-json",
                str(report2),
            )
        )
        == 0
    )
    assert json.loads(report2.read_text())["created"] == []


def test_plan_id_with_configurations(testrail: tuple[TestRailSimulator, Path], tmp_path: Path) -> None:
    sim, config = testrail
    report_path = tmp_path / "r.json"
    assert run_cli(_args(config, "--junit", str(FIXTURES / "pytest.xml"), "--plan", "Matrix")) == 0
    plan_id = max(sim.plans)
    chrome = next(c["id"] for g in sim.config_groups.values() for c in g["configs"] if c["name"] == "Chrome")
    code = run_cli(
        _args(
            config,
            "--junit",
            str(FIXTURES / "pytest.xml"),
            "--plan-id",
            str(plan_id),
            "--run",
            "Web",
            "--config-ids",
            str(chrome),
            "--report-json",
            str(report_path),
        )
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    run = sim.runs[int(report["run_id"])]
    assert run["config_ids"] == [chrome] and run["plan_id"] == plan_id and report["posted"] == 2


def test_malformed_xml_posts_nothing_and_exits_2(testrail: tuple[TestRailSimulator, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    sim, config = testrail
    code = run_cli(
        _args(
            config,
            "--junit",
            str(FIXTURES / "pytest.xml"),
            "--junit",
            str(FIXTURES / "malformed.xml"),
            "--plan",
            "Nightly",
        )
    )
    assert code == 2
    assert "malformed.xml:6:" in capsys.readouterr().err
    assert len(sim.log) == 0  # every file is read before the target is contacted


def test_five_thousand_tests(tmp_path: Path) -> None:
    sim = TestRailSimulator(seed=3, cases=5000, sections=10)
    lines = ['<?xml version="1.0"?>', '<testsuites><testsuite name="big">']
    for i in range(5000):
        outcome = '<failure message="boom"/>' if i % 10 == 0 else ""
        lines.append(
            f'<testcase classname="big.Suite{i % 20}" name="test_{i} C{i + 1}" time="0.01">{outcome}</testcase>'
        )
    lines.append("</testsuite></testsuites>")
    junit = tmp_path / "big.xml"
    junit.write_text("\n".join(lines))
    with sim.serve() as server:
        config = write_config(tmp_path, {"tr": {"kind": "testrail", "url": server.url, **sim.credentials()}})
        report_path = tmp_path / "r.json"
        assert run_cli(_args(config, "--junit", str(junit), "--plan", "Big", "--report-json", str(report_path))) == 0
    report = json.loads(report_path.read_text())
    assert report["posted"] == 5000 and report["statuses"] == {"passed": 4500, "failed": 500}
    # bulk: 5000 results in 20 requests of 250
    assert sim.log.count("POST", "add_results_for_cases") == 20
    assert report["requests"] < 80


def test_unreachable_target_and_fail_on_never(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "tr": {
                "kind": "testrail",
                "url": "http://127.0.0.1:9",
                "user": "u",
                "api_key": "k",
                "project": 1,
                "max_retries": 0,
            }
        },
    )
    junit = str(FIXTURES / "pytest.xml")
    assert run_cli(_args(config, "--junit", junit, "--plan", "X")) == 1
    assert run_cli(_args(config, "--junit", junit, "--plan", "X", "--fail-on", "never")) == 0
