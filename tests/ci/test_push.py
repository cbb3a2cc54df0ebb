"""ci push end to end: the CLI in-process against the TestRail simulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


def _junit(tmp_path: Path, name: str, *testcases: str) -> str:
    path = tmp_path / name
    body = "".join(f'<testcase classname="tests.ci" name="{n}" time="0.01"/>' for n in testcases)
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')
    return str(path)


#: scenario -> exit code per --fail-on value (errors, unmatched, never), as docs/ci.md's table says
FAIL_ON_TABLE = {
    "all matched": (0, 0, 0),
    "some unmatched": (0, 3, 0),
    "none matched": (0, 3, 0),
    "target refuses the results": (1, 1, 0),
}


@pytest.mark.parametrize("scenario", list(FAIL_ON_TABLE))
@pytest.mark.parametrize("fail_on", ["errors", "unmatched", "never"])
def test_fail_on_exit_codes(scenario: str, fail_on: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sim = TestRailSimulator(seed=7)
    junit = {
        "all matched": _junit(tmp_path, "a.xml", "test_C1_ok", "test_C3_ok"),
        "some unmatched": _junit(tmp_path, "s.xml", "test_C1_ok", "test_brand_new"),
        "none matched": _junit(tmp_path, "n.xml", "test_brand_new", "test_C9999_gone"),
        "target refuses the results": _junit(tmp_path, "r.xml", "test_C1_ok"),
    }[scenario]
    with sim.serve() as server:
        config = write_config(
            tmp_path, {"tr": {"kind": "testrail", "url": server.url, **sim.credentials(), "max_retries": 0}}
        )
        if scenario == "target refuses the results":
            sim.faults.fail_next_writes = 100
        report_path = tmp_path / "report.json"
        plans_before = len(sim.plans)
        code = run_cli(
            _args(config, "--junit", junit, "--plan", "P", "--fail-on", fail_on, "--report-json", str(report_path))
        )
    assert code == FAIL_ON_TABLE[scenario][("errors", "unmatched", "never").index(fail_on)]
    report = json.loads(report_path.read_text())  # written whatever the outcome
    out, err = capsys.readouterr()
    if scenario == "none matched":
        assert len(sim.plans) == plans_before and report["posted"] == 0 and report["plan_id"] is None
        assert report["unmatched"] == ["tests.ci.test_brand_new", "tests.ci.test_C9999_gone"]
        assert "no test matched a case: no plan created or changed, nothing posted" in out
        assert (
            "names case 9999 of tr, which does not exist there"
            in report["unmatched_reasons"]["tests.ci.test_C9999_gone"]
        )
    if scenario == "target refuses the results":
        assert report["errors"] and report["posted"] == 0
        assert ("warning: " if fail_on == "never" else "error: ") in err


def test_create_missing_cases_creates_exactly_the_missing_ones(
    testrail: tuple[TestRailSimulator, Path], tmp_path: Path
) -> None:
    sim, config = testrail
    before = set(sim.cases)
    report_path = tmp_path / "r.json"
    args = ["--junit", str(FIXTURES / "mixed.xml"), "--plan", "Mixed", "--create-missing-cases"]
    assert run_cli(_args(config, *args, "--report-json", str(report_path))) == 0
    report = json.loads(report_path.read_text())
    new = {cid: sim.cases[cid] for cid in set(sim.cases) - before}
    # one case per automation key that names no case and matches none; test_new_two ran twice: one case
    assert sorted(c["custom_automation_id"] for c in new.values()) == [
        "tests.test_new.test_new_one",
        "tests.test_new.test_new_two",
    ]
    assert sorted(report["created"]) == sorted(str(c) for c in new)
    by_test = {m["test"]: (m["case_id"], m["method"]) for m in report["matches"] if m["method"] != "created"}
    assert by_test == {
        "tests.test_orders.test_C2_names_an_existing_case": ("2", "case id"),
        "tests.app.Test3.test_case_4": ("4", "automation key"),
        "tests.test_orders.test_refund": ("5", "case id"),
    }
    # tests that name a case are never created: C999 does not exist on tr, and the CodeArts case is linked nowhere
    assert report["unmatched"] == ["tests.test_orders.test_C999_names_a_missing_case", "tests.test_orders.test_export"]
    assert "no sync job links codearts and tr" in report["unmatched_reasons"]["tests.test_orders.test_export"]
    # a second push creates nothing more
    assert run_cli(_args(config, *args, "--report-json", str(report_path))) == 0
    assert json.loads(report_path.read_text())["created"] == [] and set(sim.cases) - before == set(new)


def test_patterns_from_the_config_and_the_cli(tmp_path: Path) -> None:
    sim = TestRailSimulator(seed=7)
    junit = _junit(tmp_path, "jira.xml", "test_TR-3_login", "test_C1_plain")
    with sim.serve() as server:
        config = write_config(tmp_path, {"tr": {"kind": "testrail", "url": server.url, **sim.credentials()}})
        text = config.read_text() + '\n[ci.case_ids.tr]\npatterns = ["TR-(\\\\d+)"]\nproperties = []\n'
        config.write_text(text)
        report_path = tmp_path / "r.json"
        assert run_cli(_args(config, "--junit", junit, "--plan", "P", "--report-json", str(report_path))) == 0
        matched = {m["test"]: m["case_id"] for m in json.loads(report_path.read_text())["matches"]}
        assert matched == {"tests.ci.test_TR-3_login": "3"}  # the configured pattern replaced the default
        code = run_cli(
            _args(
                config,
                "--junit",
                junit,
                "--plan",
                "P",
                "--case-id-pattern",
                r"_C(\d+)_",
                "--report-json",
                str(report_path),
            )
        )
        assert code == 0
        matched = {m["test"]: m["case_id"] for m in json.loads(report_path.read_text())["matches"]}
        assert matched == {"tests.ci.test_C1_plain": "1"}  # the CLI's pattern wins for the target


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[ci.case_ids.tr]\npatterns = ["C(\\\\d+"]\n', "not a valid regular expression"),
        ("[ci.case_ids.nope]\npatterns = []\n", "ci.case_ids.nope: expected the name of a"),
        ('[ci]\nautomation_key = "{classname}.{method}"\n', "ci.automation_key: unknown placeholder"),
    ],
)
def test_bad_ci_config_exits_2_naming_the_key(testrail, table: str, message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    sim, config = testrail
    config.write_text(config.read_text() + "\n" + table)
    assert run_cli(_args(config, "--junit", str(FIXTURES / "pytest.xml"), "--plan", "P")) == 2
    assert message in capsys.readouterr().err
    assert len(sim.log) == 0


def test_a_push_waits_on_few_round_trips(tmp_path: Path) -> None:
    """The plan is looked up while the cases are listed, their pages several at once, and nothing a push of
    plain results does not use is read (statuses, milestones, configurations)."""
    sim = TestRailSimulator(seed=3, cases=1000, sections=10)
    sim.faults.latency = 0.1
    junit = tmp_path / "many.xml"
    cases = '<testcase classname="many" name="test_{0} C{0}" time="0.01"/>'
    junit.write_text(
        "<testsuites><testsuite>" + "".join(cases.format(i) for i in range(1, 1001)) + "</testsuite></testsuites>"
    )
    with sim.serve() as server:
        config = write_config(tmp_path, {"tr": {"kind": "testrail", "url": server.url, **sim.credentials()}})
        report_path = tmp_path / "r.json"
        assert run_cli(_args(config, "--junit", str(junit), "--plan", "Many", "--report-json", str(report_path))) == 0
    report = json.loads(report_path.read_text())
    assert report["posted"] == 1000
    routes = [e.query.split("/api/v2/")[1].split("&")[0].split("/")[0] for e in sim.log.entries]
    assert not {"get_statuses", "get_milestones", "get_configs"} & set(routes)
    pages = [i for i, r in enumerate(routes) if r == "get_cases"]
    assert routes.index("get_plans") < pages[1]  # answered with the first page, not after the last
    assert 4 <= len(pages) <= 6  # 4 pages, and at most 2 asked for past the end
    # connect 4, sections, plans, pages, the plan, users, 4 batches of results
    assert report["requests"] == len(sim.log.entries) <= 18
