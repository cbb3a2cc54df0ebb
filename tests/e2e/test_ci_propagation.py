"""A CI push to one system reaches the cases a sync job links to it on another system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_harness import KIND_OF, world

from bridge.cli import main
from bridge.model import Case, Status, Step

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2" failures="1">
  <testcase classname="tests.test_login" name="test_ok" time="0.5"/>
  <testcase classname="tests.test_login" name="test_bad" time="1.5"><failure message="boom">trace</failure></testcase>
</testsuite></testsuites>
"""


def toml_value(value: object) -> str:
    return json.dumps(value)  # strings, numbers and booleans are written the same way in TOML


def test_results_pushed_to_testrail_reach_the_linked_testplanit_cases(tmp_path: Path) -> None:
    with world(tmp_path, names=("tr", "tp"), jobs=[{"name": "job", "left": "tr", "right": "tp"}]) as w:
        with w.adapter("tr") as a:
            for name in ("test_ok", "test_bad"):
                a.create_case(
                    Case(
                        title=name,
                        folder=("Login",),
                        steps=[Step(action="run", expected="passes")],
                        automation_key=f"tests.test_login.{name}",
                    ),
                    marker=f"user-{name}",
                )
        assert w.sync().status == "ok"  # links the two cases, creates them on TestPlanIt

        lines = [f"[store]\nurl = {toml_value(w.store_url)}\n"]
        for name, sim in w.sims.items():
            lines.append(f"[systems.{name}]\nkind = {toml_value(KIND_OF[name])}\nurl = {toml_value(w.urls[name])}")
            lines += [f"{k} = {toml_value(v)}" for k, v in sim.credentials().items()]
        lines.append('[[jobs]]\nname = "job"\nleft = "tr"\nright = "tp"\n')
        config = tmp_path / "bridge.toml"
        config.write_text("\n".join(lines))
        junit = tmp_path / "junit.xml"
        junit.write_text(JUNIT)
        report = tmp_path / "report.json"

        with pytest.raises(SystemExit) as exit_info:
            main(["ci", "push", "--config", str(config), "--to", "tr", "--junit", str(junit), "--plan", "CI 1",
                  "--report-json", str(report), "--fail-on", "errors"])  # fmt: skip
        assert exit_info.value.code == 0
        pushed = json.loads(report.read_text())
        assert pushed["posted"] == 2 and pushed["propagated"] == {"job -> tp": 2}

        with w.adapter("tp") as b:
            plans = [p for p in b.iter_plans() if p.name == "CI 1"]
            assert len(plans) == 1
            statuses = sorted(r.status for r in b.iter_results(plan_id=plans[0].id))
        assert statuses == sorted([Status.PASSED, Status.FAILED])
