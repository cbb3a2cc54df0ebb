"""``ci push --to <testplanit> --create-missing-cases``: the CLI in-process against the TestPlanIt simulator."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.testplanit.simulator import TestPlanItSimulator
from tests.ci.conftest import FIXTURES, run_cli, write_config


def test_missing_cases_are_created_with_their_type(tmp_path: Path) -> None:
    sim = TestPlanItSimulator()  # a new UI project: a template with a Type field, no folder, no case
    with sim.serve() as server:
        config = write_config(tmp_path, {"tp": {"kind": "testplanit", "url": server.url, **sim.credentials()}})
        report_path = tmp_path / "report.json"
        args = ["ci", "push", "--config", str(config), "--to", "tp", "--junit", str(FIXTURES / "jest.xml")]
        code = run_cli([*args, "--plan", "Nightly", "--create-missing-cases", "--report-json", str(report_path)])
        assert code == 0
        report = json.loads(report_path.read_text())
        assert report["created"] and report["matched_by"] == {"created": len(report["created"])}
        automated = sim.option_ids[("type", "Automated")]
        type_field = sim.field_ids["type"]
        for case_id in report["created"]:
            values = {r["fieldId"]: r["value"] for r in sim.rows("caseFieldValues") if r["testCaseId"] == int(case_id)}
            assert values[type_field] == automated
        assert report["posted"] == len(sim.rows("testRunResults"))
        # a second push matches the created cases: none made twice
        again = tmp_path / "again.json"
        assert run_cli([*args, "--plan", "Nightly 2", "--create-missing-cases", "--report-json", str(again)]) == 0
        assert json.loads(again.read_text())["created"] == []
