"""The job option that keeps one CodeArts PerfTest task per synced plan."""

from __future__ import annotations

from pathlib import Path

from e2e_harness import world
from test_sync_rules import new_case, put

from bridge.model import Plan, PlanRun


def test_one_perftest_task_per_plan_with_the_cases_its_cases_point_to(tmp_path: Path) -> None:
    job = {"name": "job", "left": "tp", "right": "tr", "perftest": "pt"}
    with world(tmp_path, names=("tp", "tr", "pt"), seeds={"pt": 1}, jobs=[job]) as w:
        perf = sorted(w.sims["pt"].case_ids)  # type: ignore[attr-defined]
        a = put(w, "tp", new_case("Load the cart", tags=[f"perftest:{perf[0]}", "smoke"]))
        b = put(w, "tp", new_case("Checkout under load", tags=[f"perftest:{perf[1]}"]))
        c = put(w, "tp", new_case("No perf", tags=["smoke"]))
        with w.adapter("tp") as tp:
            tp.create_plan(Plan(name="Release 7", runs=[PlanRun(name="Release 7", case_ids=[a, b, c])]), marker="u-1")
        report = w.sync()
        assert report.status == "ok", report.errors
        tasks = list(w.sims["pt"].tasks.values())  # type: ignore[attr-defined]
        assert [(t["name"], sorted(t["case_id_list"])) for t in tasks] == [("Release 7", perf[:2])]
        w.sync()  # a second run keeps the same single task
        assert len(w.sims["pt"].tasks) == 1  # type: ignore[attr-defined]
