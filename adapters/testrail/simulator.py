"""An in-process TestRail Cloud (API v2) for tests, benchmarks and the demo.

Answers like the real service (see the vendor plans document and the behaviour notes):

- routing lives in the query string: ``/index.php?/api/v2/<method>/<id>[/<id>]&filter=value``; any path
  prefix before ``index.php`` is accepted (servers are often installed under ``/testrail/``);
- GET reads, POST writes (JSON body, ``Content-Type: application/json`` required on POST);
- bulk reads are paginated objects ``{offset, limit, size, _links: {next, prev}, <items>: [...]}``, max
  limit 250 (a larger limit is an error, as on the real service); suites, statuses, priorities, case
  fields, case types, templates and configs come back as bare arrays;
- errors are ``{"error": "..."}`` in TestRail's words: 400 bad input or unknown id, 401 bad credentials,
  403 no access, 404 unknown method; 429 with ``Retry-After`` comes from :class:`adapters.simulation.Faults`;
- labels (TestRail 9+) on projects and cases (:mod:`adapters.testrail.simlabels`); ``labels=False`` is an
  older server without them, and ``unknown_method_status=400`` one that answers unknown methods with 400.

State is in memory. ``TestRailSimulator(seed=N)`` seeds a small realistic project; size options
(``cases``, ``sections``, ``steps``) generate bigger ones deterministically; no seed gives an empty project
(its suite, fields, statuses and configurations exist, but no sections, cases or plans).
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.simulation import ASGIApp, Faults, Simulator
from adapters.simulation_timespan import span_seconds, span_text
from adapters.testrail.simlabels import LabelError, Labels

MAX_LIMIT = 250
BASE_TIME = 1_700_000_000  # seeded records are created around this time (deterministic)

PAGINATED = {
    "get_cases": "cases",
    "get_runs": "runs",
    "get_plans": "plans",
    "get_tests": "tests",
    "get_results": "results",
    "get_results_for_case": "results",
    "get_results_for_run": "results",
    "get_sections": "sections",
    "get_projects": "projects",
    "get_milestones": "milestones",
    "get_history_for_case": "history",
    "get_users": "users",
    "get_labels": "labels",
}

# case field type ids, as TestRail numbers them
STRING, INTEGER, TEXT, URL, CHECKBOX, DROPDOWN, USER, DATE, MILESTONE, STEPS, MULTI = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad(message: str) -> ApiError:
    return ApiError(400, message)


class TestRailSimulator(Simulator):
    """TestRail Cloud in memory. Credentials: ``user``, ``api_key``, ``project`` (the project's name)."""

    __test__ = False
    system: ClassVar[str] = "testrail"

    def __init__(
        self,
        *,
        seed: int | None = None,
        faults: Faults | None = None,
        cases: int | None = None,
        sections: int | None = None,
        steps: int = 3,
        suite_mode: int = 1,
        marker_field: bool = True,
        project_name: str = "Bridge Demo",
        legacy_pagination: bool = False,
        labels: bool = True,
        unknown_method_status: int = 404,
    ) -> None:
        super().__init__(seed=seed, faults=faults)
        self.lock = threading.RLock()
        #: answer bulk reads with bare arrays (honouring limit/offset), as servers before TestRail 6.7 do
        self.legacy_pagination = legacy_pagination
        #: how the server answers a method it does not know: 404, or 400 on some older versions
        self.unknown_method_status = unknown_method_status
        self.user = "bridge@example.com"
        self.api_key = "tpb-sim-" + (f"{seed:08d}" if seed is not None else "00000000") + "-key"
        self.password = "tpb-sim-password"
        self.clock: Callable[[], int] = lambda: int(time.time())
        self._ids: dict[str, itertools.count[int]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.projects: dict[int, dict[str, Any]] = {}
        self.suites: dict[int, dict[str, Any]] = {}
        self.sections: dict[int, dict[str, Any]] = {}
        self.cases: dict[int, dict[str, Any]] = {}
        self.case_fields: list[dict[str, Any]] = []
        self.result_fields: list[dict[str, Any]] = []
        self.milestones: dict[int, dict[str, Any]] = {}
        self.config_groups: dict[int, dict[str, Any]] = {}
        self.plans: dict[int, dict[str, Any]] = {}
        self.entries: dict[str, dict[str, Any]] = {}  # entry id -> {id, plan_id, suite_id, name, ...}
        self.runs: dict[int, dict[str, Any]] = {}
        self.tests: dict[int, dict[str, Any]] = {}
        #: (run id, case id) -> id of the run's test of that case (see _test_for)
        self._test_of_case: dict[tuple[int, int], int] = {}
        self.results: dict[int, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []
        #: labels (TestRail 9+); ``labels=False`` is an older server, without them (see simlabels)
        self.labels = Labels(enabled=labels, clock=lambda: self.clock(), next_id=lambda: self.next_id("label"))
        self._build_base(suite_mode, marker_field, project_name)
        if seed is not None:
            self._seed(random.Random(seed), cases=cases or 30, sections=sections or 5, steps=steps)

    # ------------------------------------------------------------------------------------- contract
    def credentials(self) -> dict[str, Any]:
        return {"user": self.user, "api_key": self.api_key, "project": self.project["name"]}

    @property
    def project(self) -> dict[str, Any]:
        return self.projects[1]

    def next_id(self, kind: str) -> int:
        return next(self._ids.setdefault(kind, itertools.count(1)))

    def add_case_field(
        self,
        system_name: str,
        *,
        type_id: int = STRING,
        label: str | None = None,
        required: bool = False,
        items: str | None = None,
    ) -> dict[str, Any]:
        """Add a custom case field (``system_name`` starts with ``custom_``), global to all projects."""
        options: dict[str, Any] = {"is_required": required, "default_value": ""}
        if items is not None:
            options["items"] = items
        if type_id in (TEXT, STEPS):
            options.update({"format": "markdown", "rows": "5"})
        fid = self.next_id("case_field")
        field = {
            "id": fid,
            "is_active": True,
            "type_id": type_id,
            "name": system_name.removeprefix("custom_"),
            "system_name": system_name,
            "label": label or system_name.removeprefix("custom_").replace("_", " ").title(),
            "description": None,
            "configs": [{"context": {"is_global": True, "project_ids": None}, "options": options, "id": fid}],
            "display_order": fid,
            "include_all": True,
            "template_ids": [],
        }
        with self.lock:
            self.case_fields.append(field)
            for case in self.cases.values():
                case.setdefault(system_name, None)
        return field

    # --------------------------------------------------------------------------------------- seeding
    def _build_base(self, suite_mode: int, marker_field: bool, project_name: str) -> None:
        self.users[1] = {"id": 1, "name": "Bridge Bot", "email": self.user, "is_active": True, "role_id": 1}
        self.users[2] = {"id": 2, "name": "Ada Tester", "email": "ada@example.com", "is_active": True, "role_id": 3}
        self.next_id("user"), self.next_id("user")
        pid = self.next_id("project")
        self.projects[pid] = {
            "id": pid,
            "name": project_name,
            "announcement": None,
            "show_announcement": False,
            "is_completed": False,
            "completed_on": None,
            "suite_mode": suite_mode,
            "default_role_id": None,
            "url": f"/index.php?/projects/overview/{pid}",
        }
        self._new_suite(pid, "Master" if suite_mode != 3 else "Functional", is_master=suite_mode != 3)
        if suite_mode == 3:
            self._new_suite(pid, "Regression", is_master=False)
        self.statuses = [
            self._status(1, "passed", "Passed", is_final=True),
            self._status(2, "blocked", "Blocked", is_final=True),
            self._status(3, "untested", "Untested", is_untested=True),
            self._status(4, "retest", "Retest"),
            self._status(5, "failed", "Failed", is_final=True),
            # a custom status an admin defined (custom_status1); the default value maps do not know it
            self._status(6, "custom_status1", "Skipped CI", is_system=False),
        ]
        self.add_case_field("custom_preconds", type_id=TEXT, label="Preconditions")
        self.add_case_field("custom_steps_separated", type_id=STEPS, label="Steps")
        self.add_case_field("custom_automation_id", type_id=STRING, label="Automation ID")
        if marker_field:
            # the project is prepared for the bridge: its marker field and a description field (cases have none)
            self.add_case_field("custom_tpb_marker", type_id=STRING, label="Bridge marker")
            self.add_case_field("custom_description", type_id=TEXT, label="Description")
        for name, configs in (("Browsers", ("Chrome", "Firefox")), ("Operating Systems", ("Windows 11", "Ubuntu 24"))):
            gid = self.next_id("config_group")
            self.config_groups[gid] = {
                "id": gid,
                "name": name,
                "project_id": pid,
                "configs": [{"id": self.next_id("config"), "name": c, "group_id": gid} for c in configs],
            }
        mid = self.next_id("milestone")
        self.milestones[mid] = {
            "id": mid,
            "name": "Release 1.0",
            "description": None,
            "project_id": pid,
            "parent_id": None,
            "start_on": None,
            "started_on": None,
            "due_on": BASE_TIME + 30 * 86400,
            "is_started": False,
            "is_completed": False,
            "completed_on": None,
            "refs": None,
            "url": f"/index.php?/milestones/view/{mid}",
            "milestones": [],
        }

    @staticmethod
    def _status(
        sid: int, name: str, label: str, *, is_system: bool = True, is_untested: bool = False, is_final: bool = False
    ) -> dict[str, Any]:
        return {
            "id": sid,
            "name": name,
            "label": label,
            "color_dark": 0,
            "color_medium": 0,
            "color_bright": 0,
            "is_system": is_system,
            "is_untested": is_untested,
            "is_final": is_final,
        }

    def _new_suite(self, project_id: int, name: str, *, is_master: bool = False, description: str | None = None) -> int:
        sid = self.next_id("suite")
        self.suites[sid] = {
            "id": sid,
            "name": name,
            "description": description,
            "project_id": project_id,
            "is_master": is_master,
            "is_baseline": False,
            "is_completed": False,
            "completed_on": None,
            "url": f"/index.php?/suites/view/{sid}",
        }
        return sid

    def _seed(self, rng: random.Random, *, cases: int, sections: int, steps: int) -> None:
        suite_id = min(s for s, v in self.suites.items() if v["project_id"] == 1)
        areas = ["Login", "Checkout", "Search", "Profile", "Reports", "Admin", "Billing", "Catalog"]
        section_ids: list[int] = []
        for i in range(sections):
            # every third section nests under the previous top-level one: paths have depth
            parent = section_ids[i - 1] if i % 3 == 2 and section_ids else None
            name = f"{areas[i % len(areas)]}" + (f" {i // len(areas) + 1}" if i >= len(areas) else "")
            if parent is not None:
                name = f"{name} details"
            section_ids.append(self._insert_section(suite_id, name, parent, created=BASE_TIME + i))
        verbs = ["opens", "saves", "rejects", "lists", "exports", "filters", "updates", "deletes"]
        for i in range(cases):
            sec = section_ids[i % len(section_ids)]
            title = f"{self.sections[sec]['name']} {verbs[rng.randrange(len(verbs))]} item {i + 1}"
            case_steps = [
                {
                    "content": f"<p>Step {n + 1}: do <strong>action {rng.randrange(100)}</strong></p>",
                    "expected": f"Result {n + 1} is shown",
                    "additional_info": None,
                    "refs": None,
                }
                for n in range(steps)
            ]
            fields: dict[str, Any] = {
                "custom_preconds": "<p>User is signed in</p>" if i % 2 == 0 else None,
                "custom_steps_separated": case_steps,
                "custom_automation_id": f"tests.app.Test{i % 7}.test_case_{i + 1}" if i % 3 == 0 else None,
                # labels as a team uses them (ignored by a server without labels); no rng: other seeded
                # values stay what they were before labels existed
                "labels": [t for t, every in (("smoke", 4), ("regression", 6)) if i % every == 1],
            }
            self._insert_case(
                sec,
                {
                    "title": title,
                    "type_id": rng.choice([1, 3, 6, 9, 11]),
                    "priority_id": rng.randint(1, 4),
                    "refs": f"REQ-{100 + i % 12}" if i % 4 == 0 else None,
                    "estimate": span_text(rng.choice([30, 65, 300, 0])),
                    **fields,
                },
                created=BASE_TIME + 100 + i,
            )
        if self.cases:
            case_ids = sorted(self.cases)[: min(10, len(self.cases))]
            plan = self._create_plan(
                1,
                {
                    "name": "Regression plan",
                    "description": "Nightly regression",
                    "milestone_id": 1,
                    "entries": [
                        {
                            "suite_id": suite_id,
                            "name": "Cross browser",
                            "include_all": False,
                            "case_ids": case_ids,
                            "config_ids": [1, 2, 3],
                            "runs": [
                                {"include_all": False, "case_ids": case_ids, "config_ids": [1, 3]},
                                {"include_all": False, "case_ids": case_ids[:5], "config_ids": [2, 3]},
                            ],
                        }
                    ],
                },
                created=BASE_TIME + 10_000,
            )
            first_run = plan["entries"][0]["runs"][0]["id"]
            for n, cid in enumerate(case_ids[:6]):
                test = self._test_for(first_run, cid)
                assert test is not None
                self._insert_result(
                    test,
                    {"status_id": [1, 5, 1, 2, 1, 4][n], "comment": f"seeded result {n + 1}", "elapsed": "12s"},
                    created=BASE_TIME + 20_000 + n,
                )

    # --------------------------------------------------------------------------------------- records
    def _insert_section(
        self, suite_id: int, name: str, parent_id: int | None, *, description: str | None = None, created: int = 0
    ) -> int:
        sid = self.next_id("section")
        depth = 0 if parent_id is None else self.sections[parent_id]["depth"] + 1
        order = 1 + sum(1 for s in self.sections.values() if s["suite_id"] == suite_id)
        self.sections[sid] = {
            "id": sid,
            "suite_id": suite_id,
            "name": name,
            "description": description,
            "parent_id": parent_id,
            "display_order": order,
            "depth": depth,
        }
        return sid

    def _custom_names(self) -> list[str]:
        return [f["system_name"] for f in self.case_fields if f["is_active"]]

    def _check_case_fields(self, body: dict[str, Any], *, creating: bool) -> None:
        for f in self.case_fields:
            name = f["system_name"]
            options = f["configs"][0]["options"] if f["configs"] else {}
            if creating and options.get("is_required") and body.get(name) in (None, "", []):
                raise bad(f"Field :{name} is a required field.")
            value = body.get(name)
            if value is None:
                continue
            if f["type_id"] == STEPS:
                if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
                    raise bad(f"Field :{name} is not in a valid format (an array of steps is expected).")
            elif f["type_id"] in (STRING, TEXT, URL) and not isinstance(value, str):
                raise bad(f"Field :{name} is not a valid string.")
            elif f["type_id"] == STRING and len(value) > 250:
                raise bad(f"Field :{name} is too long (250 characters at most).")

    def _apply_case_body(self, case: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("title", "type_id", "priority_id", "milestone_id", "refs", "template_id"):
            if key in body:
                case[key] = body[key]
        if "estimate" in body:
            try:
                case["estimate"] = span_text(span_seconds(str(body["estimate"] or "")))
            except ValueError:
                raise bad("Field :estimate is not in a valid time span format.") from None
        for name in self._custom_names():
            if name in body:
                value = body[name]
                if isinstance(value, list):
                    value = [
                        {
                            "content": s.get("content"),
                            "expected": s.get("expected"),
                            "additional_info": s.get("additional_info"),
                            "refs": s.get("refs"),
                        }
                        for s in value
                    ]
                case[name] = value

    def _insert_case(self, section_id: int, body: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        now = created if created is not None else self.clock()
        cid = self.next_id("case")
        section = self.sections[section_id]
        case: dict[str, Any] = {
            "id": cid,
            "title": "",
            "section_id": section_id,
            "template_id": 2,
            "type_id": 7,
            "priority_id": 2,
            "milestone_id": None,
            "refs": None,
            "created_by": 1,
            "created_on": now,
            "updated_by": 1,
            "updated_on": now,
            "estimate": None,
            "estimate_forecast": None,
            "suite_id": section["suite_id"],
            "display_order": 1 + sum(1 for c in self.cases.values() if c["section_id"] == section_id),
            "is_deleted": 0,
        }
        self.labels.new_case(case)
        for name in self._custom_names():
            case[name] = None
        self._apply_case_body(case, body)
        self.labels.apply(case, self.suites[case["suite_id"]]["project_id"], body)
        self.cases[cid] = case
        # open runs that include all cases of the suite pick the new case up, as in TestRail
        for run in self.runs.values():
            if run["include_all"] and not run["is_completed"] and run["suite_id"] == case["suite_id"]:
                self._insert_test(run["id"], cid)
        return case

    def _insert_test(self, run_id: int, case_id: int) -> dict[str, Any]:
        tid = self.next_id("test")
        case = self.cases[case_id]
        test = {
            "id": tid,
            "case_id": case_id,
            "status_id": 3,
            "assignedto_id": None,
            "run_id": run_id,
            "title": case["title"],
            "template_id": case["template_id"],
            "type_id": case["type_id"],
            "priority_id": case["priority_id"],
            "estimate": case["estimate"],
            "estimate_forecast": None,
            "refs": case["refs"],
            "milestone_id": case["milestone_id"],
            **{n: case.get(n) for n in self._custom_names()},
        }
        self.tests[tid] = test
        self._test_of_case.setdefault((run_id, case["id"]), tid)
        return test

    def _test_for(self, run_id: int, case_id: int) -> dict[str, Any] | None:
        # A real TestRail finds a run's test of a case by an index: scanning every test for each posted result
        # made the simulator's own time grow with the run (~0.1 s for 2,000 results), which the bridge and
        # trcli, posting the same results, were both charged. The index holds the first test made for the pair
        # (what the scan found first); one deleted since is looked up again by the scan.
        tid = self._test_of_case.get((run_id, case_id))
        if tid is not None and tid in self.tests:
            return self.tests[tid]
        test = next((t for t in self.tests.values() if t["run_id"] == run_id and t["case_id"] == case_id), None)
        if test is not None:
            self._test_of_case[(run_id, case_id)] = test["id"]
        return test

    def _insert_result(
        self, test: dict[str, Any], body: dict[str, Any], *, created: int | None = None
    ) -> dict[str, Any]:
        status_id = body.get("status_id")
        comment = body.get("comment")
        if status_id is None and not comment and not body.get("assignedto_id"):
            raise bad("Field :status_id is a required field (or :comment/:assignedto_id must be set).")
        if status_id is not None and status_id not in {s["id"] for s in self.statuses}:
            raise bad("Field :status_id is not a valid status.")
        elapsed = body.get("elapsed")
        if elapsed not in (None, ""):
            try:
                elapsed = span_text(span_seconds(str(elapsed)))
            except ValueError:
                raise bad("Field :elapsed is not in a valid time span format.") from None
        rid = self.next_id("result")
        result = {
            "id": rid,
            "test_id": test["id"],
            "status_id": status_id,
            "created_on": created if created is not None else self.clock(),
            "created_by": 1,
            "assignedto_id": body.get("assignedto_id"),
            "comment": comment,
            "version": body.get("version"),
            "elapsed": elapsed or None,
            "defects": body.get("defects"),
            "custom_step_results": body.get("custom_step_results"),
            "attachment_ids": [],
        }
        for f in self.result_fields:
            result[f["system_name"]] = body.get(f["system_name"])
        self.results[rid] = result
        if status_id is not None:
            test["status_id"] = status_id
        return result

    # -- plans and runs
    def _config_name(self, config_ids: list[int]) -> str | None:
        names = []
        for group in sorted(self.config_groups.values(), key=lambda g: g["id"]):
            names += [c["name"] for c in group["configs"] if c["id"] in config_ids]
        return ", ".join(names) or None

    def _all_configs(self) -> dict[int, int]:
        return {c["id"]: g["id"] for g in self.config_groups.values() for c in g["configs"]}

    def _validate_suite(self, project_id: int, suite_id: Any) -> int:
        if suite_id is None:
            if self.projects[project_id]["suite_mode"] == 3:
                raise bad("Field :suite_id is a required field.")
            return min(s for s, v in self.suites.items() if v["project_id"] == project_id)
        if (
            not isinstance(suite_id, int)
            or suite_id not in self.suites
            or self.suites[suite_id]["project_id"] != project_id
        ):
            raise bad("Field :suite_id is not a valid test suite.")
        return suite_id

    def _validate_case_ids(self, suite_id: int, case_ids: Any) -> list[int]:
        if case_ids is None:
            return []
        if not isinstance(case_ids, list):
            raise bad("Field :case_ids is not a valid array.")
        out = []
        for cid in case_ids:
            case = self.cases.get(cid) if isinstance(cid, int) else None
            if case is None or case["suite_id"] != suite_id:
                raise bad("Field :case_ids contains one or more invalid test cases.")
            out.append(cid)
        return out

    def _create_run(
        self,
        project_id: int,
        suite_id: int,
        spec: dict[str, Any],
        *,
        plan_id: int | None = None,
        entry: dict[str, Any] | None = None,
        created: int | None = None,
    ) -> dict[str, Any]:
        rid = self.next_id("run")
        include_all = spec.get("include_all", True)
        case_ids = self._validate_case_ids(suite_id, spec.get("case_ids"))
        config_ids = list(spec.get("config_ids") or [])
        run: dict[str, Any] = {
            "id": rid,
            "suite_id": suite_id,
            "name": spec.get("name") or (entry["name"] if entry else "Test Run"),
            "description": spec.get("description"),
            "milestone_id": spec.get("milestone_id"),
            "assignedto_id": spec.get("assignedto_id"),
            "include_all": bool(include_all),
            "is_completed": False,
            "completed_on": None,
            "config": self._config_name(config_ids),
            "config_ids": config_ids,
            "project_id": project_id,
            "plan_id": plan_id,
            "created_on": created if created is not None else self.clock(),
            "created_by": 1,
            "updated_on": None,
            "refs": spec.get("refs"),
            "url": f"/index.php?/runs/view/{rid}",
        }
        if entry is not None:
            run["entry_id"] = entry["id"]
            run["entry_index"] = entry["index"]
        self.runs[rid] = run
        self._set_run_cases(run, include_all, case_ids)
        return run

    def _set_run_cases(self, run: dict[str, Any], include_all: bool, case_ids: list[int]) -> None:
        if include_all:
            wanted = [c["id"] for c in self.cases.values() if c["suite_id"] == run["suite_id"] and not c["is_deleted"]]
        else:
            wanted = case_ids
        existing = {t["case_id"]: t for t in self.tests.values() if t["run_id"] == run["id"]}
        for cid, test in existing.items():
            if cid not in wanted:
                del self.tests[test["id"]]
                for rid in [r for r, res in self.results.items() if res["test_id"] == test["id"]]:
                    del self.results[rid]
        for cid in wanted:
            if cid not in existing:
                self._insert_test(run["id"], cid)
        run["include_all"] = bool(include_all)

    def _add_entry(self, plan: dict[str, Any], body: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        suite_id = self._validate_suite(plan["project_id"], body.get("suite_id"))
        if body.get("suite_id") is None and self.projects[plan["project_id"]]["suite_mode"] != 3:
            pass
        known = self._all_configs()
        top_configs = list(body.get("config_ids") or [])
        for c in top_configs:
            if c not in known:
                raise bad("Field :config_ids contains one or more invalid configurations.")
        run_specs = body.get("runs")
        specs: list[dict[str, Any]] = []
        if run_specs:
            for spec in run_specs:
                ids = list(spec.get("config_ids") or [])
                if any(c not in top_configs for c in ids):
                    raise bad("Field :runs.config_ids contains a configuration that is not part of :config_ids.")
                if len({known[c] for c in ids}) != len(ids):
                    raise bad("Field :runs.config_ids contains more than one configuration of the same group.")
                merged: dict[str, Any] = {
                    k: body[k]
                    for k in ("include_all", "case_ids", "assignedto_id", "name", "description", "refs")
                    if k in body
                }
                merged.update(spec)
                specs.append(merged)
        elif top_configs:
            # without explicit runs, one run per full configuration combination
            groups: dict[int, list[int]] = {}
            for c in top_configs:
                groups.setdefault(known[c], []).append(c)
            specs = [
                {**{k: v for k, v in body.items() if k not in ("runs", "config_ids")}, "config_ids": list(combo)}
                for combo in itertools.product(*[groups[g] for g in sorted(groups)])
            ]
        else:
            specs = [dict(body)]
        entry_index = 1 + sum(1 for e in self.entries.values() if e["plan_id"] == plan["id"])
        entry = {
            "id": str(uuid.UUID(int=random.Random(f"{plan['id']}/{entry_index}/{len(self.entries)}").getrandbits(128))),
            "plan_id": plan["id"],
            "suite_id": suite_id,
            "name": body.get("name") or self.suites[suite_id]["name"],
            "description": body.get("description"),
            "refs": body.get("refs"),
            "include_all": body.get("include_all", True),
            "index": entry_index,
            "run_ids": [],
        }
        # validate every run before creating any (a refused entry leaves nothing behind)
        for spec in specs:
            if not spec.get("include_all", True):
                self._validate_case_ids(suite_id, spec.get("case_ids"))
        self.entries[entry["id"]] = entry
        for spec in specs:
            spec = {**spec, "name": spec.get("name") or entry["name"]}
            run = self._create_run(plan["project_id"], suite_id, spec, plan_id=plan["id"], entry=entry, created=created)
            run["milestone_id"] = plan["milestone_id"]
            entry["run_ids"].append(run["id"])
        return entry

    def _create_plan(self, project_id: int, body: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        if not body.get("name"):
            raise bad("Field :name is a required field.")
        milestone_id = body.get("milestone_id")
        if milestone_id is not None and milestone_id not in self.milestones:
            raise bad("Field :milestone_id is not a valid milestone.")
        pid = self.next_id("plan")
        plan = {
            "id": pid,
            "name": body["name"],
            "description": body.get("description"),
            "milestone_id": milestone_id,
            "assignedto_id": None,
            "is_completed": False,
            "completed_on": None,
            "project_id": project_id,
            "created_on": created if created is not None else self.clock(),
            "created_by": 1,
            "refs": body.get("refs"),
            "url": f"/index.php?/plans/view/{pid}",
        }
        self.plans[pid] = plan
        try:
            for entry in body.get("entries") or []:
                self._add_entry(plan, entry, created=created)
        except ApiError:
            self._delete_plan(pid)
            raise
        return self._plan_json(pid)

    def _delete_plan(self, plan_id: int) -> None:
        for eid in [e for e, v in self.entries.items() if v["plan_id"] == plan_id]:
            self._delete_entry(eid)
        del self.plans[plan_id]

    def _delete_run(self, run_id: int) -> None:
        for tid in [t for t, v in self.tests.items() if v["run_id"] == run_id]:
            for rid in [r for r, res in self.results.items() if res["test_id"] == tid]:
                del self.results[rid]
            del self.tests[tid]
        del self.runs[run_id]

    def _delete_entry(self, entry_id: str) -> None:
        for rid in self.entries[entry_id]["run_ids"]:
            self._delete_run(rid)
        del self.entries[entry_id]

    # ------------------------------------------------------------------------------------- rendering
    def _counts(self, run_ids: list[int]) -> dict[str, int]:
        counts = {k: 0 for k in ("passed_count", "blocked_count", "untested_count", "retest_count", "failed_count")}
        counts.update({f"custom_status{i}_count": 0 for i in range(1, 8)})
        names = {1: "passed_count", 2: "blocked_count", 3: "untested_count", 4: "retest_count", 5: "failed_count"}
        for t in self.tests.values():
            if t["run_id"] in run_ids:
                sid = t["status_id"]
                key = names.get(sid, f"custom_status{sid - 5}_count")
                counts[key] = counts.get(key, 0) + 1
        return counts

    def _run_json(self, run_id: int) -> dict[str, Any]:
        run = dict(self.runs[run_id])
        run.update(self._counts([run_id]))
        return run

    def _entry_json(self, entry_id: str) -> dict[str, Any]:
        e = self.entries[entry_id]
        return {
            "id": e["id"],
            "suite_id": e["suite_id"],
            "name": e["name"],
            "refs": e["refs"],
            "description": e["description"],
            "include_all": e["include_all"],
            "runs": [self._run_json(r) for r in e["run_ids"]],
        }

    def _plan_json(self, plan_id: int, *, entries: bool = True) -> dict[str, Any]:
        plan = dict(self.plans[plan_id])
        run_ids = [r for e in self.entries.values() if e["plan_id"] == plan_id for r in e["run_ids"]]
        plan.update(self._counts(run_ids))
        if entries:
            plan["entries"] = [
                self._entry_json(eid)
                for eid, e in sorted(self.entries.items(), key=lambda kv: kv[1]["index"])
                if e["plan_id"] == plan_id
            ]
        return plan

    # ------------------------------------------------------------------------------------------ HTTP
    def build_app(self) -> ASGIApp:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            request = Request(scope, receive)
            response = await self._handle(request)
            await response(scope, receive, send)

        return app

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return False
        return user.lower() == self.user.lower() and secret in (self.api_key, self.password)

    async def _handle(self, request: Request) -> Response:
        path = request.url.path
        raw_query = unquote(request.scope.get("query_string", b"").decode("latin-1"))
        if not path.endswith("/index.php") or not raw_query.startswith("/api/v2/"):
            return JSONResponse({"error": "Not found"}, status_code=404)
        if not self._authorized(request):
            return JSONResponse(
                {"error": "Authentication failed: invalid or missing user/password or session cookie."},
                status_code=401,
            )
        route, *filter_parts = raw_query[len("/api/v2/") :].split("&")
        method, *ids = route.strip("/").split("/")
        filters: dict[str, str] = {}
        for part in filter_parts:
            if part:
                key, _, value = part.partition("=")
                filters[key] = value
        body: Any = None
        if request.method == "POST":
            ctype = request.headers.get("content-type", "")
            raw = await request.body()
            if "application/json" not in ctype:
                return JSONResponse(
                    {"error": "Content-Type header missing (use Content-Type: application/json)"}, status_code=400
                )
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return JSONResponse({"error": "Invalid JSON body."}, status_code=400)
            if not isinstance(body, dict):
                return JSONResponse({"error": "Invalid JSON body (an object is expected)."}, status_code=400)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return JSONResponse({"error": f"Unknown method '{method}'"}, status_code=self.unknown_method_status)
        writes = method.split("_", 1)[0] in ("add", "update", "close", "delete", "move", "copy")
        if writes and request.method != "POST":
            return JSONResponse({"error": "This method requires a POST request."}, status_code=400)
        if not writes and request.method != "GET":
            return JSONResponse({"error": "This method requires a GET request."}, status_code=400)
        try:
            int_ids = [_int_id(i) for i in ids] if method not in ("update_plan_entry", "delete_plan_entry") else ids
            with self.lock:
                result = handler(int_ids, filters, body or {}) if writes else handler(int_ids, filters)
                if method in PAGINATED and isinstance(result, list):
                    result = self._page(method, route, filters, result)
                payload = json.dumps(result)
        except ApiError as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
        except LabelError as exc:
            status = self.unknown_method_status if exc.status == 404 else exc.status
            return JSONResponse({"error": exc.message}, status_code=status)
        return Response(payload, media_type="application/json")

    def _page(self, method: str, route: str, filters: dict[str, str], items: list[Any]) -> dict[str, Any] | list[Any]:
        limit = _int_filter(filters, "limit", MAX_LIMIT)
        offset = _int_filter(filters, "offset", 0)
        if limit < 1 or limit > MAX_LIMIT:
            raise bad(f"Field :limit must be between 1 and {MAX_LIMIT}.")
        if offset < 0:
            raise bad("Field :offset must be a positive number.")
        page = items[offset : offset + limit]
        if self.legacy_pagination:
            return page
        rest = "&".join(f"{k}={v}" for k, v in filters.items() if k not in ("limit", "offset"))
        base = f"/api/v2/{route}" + (f"&{rest}" if rest else "")
        nxt = f"{base}&limit={limit}&offset={offset + limit}" if offset + limit < len(items) else None
        prev = f"{base}&limit={limit}&offset={max(0, offset - limit)}" if offset > 0 else None
        return {
            "offset": offset,
            "limit": limit,
            "size": len(page),
            "_links": {"next": nxt, "prev": prev},
            PAGINATED[method]: page,
        }

    # -------------------------------------------------------------------------------------- lookups
    def _project(self, ids: list[Any]) -> dict[str, Any]:
        pid = ids[0] if ids else None
        if pid not in self.projects:
            raise bad("Field :project_id is not a valid or accessible project.")
        return self.projects[pid]

    def _one(self, table: dict[Any, dict[str, Any]], ids: list[Any], field: str, what: str) -> dict[str, Any]:
        key = ids[0] if ids else None
        if key is None:
            raise bad(f"Field :{field} is a required field.")
        if key not in table:
            raise bad(f"Field :{field} is not a valid {what}.")
        return table[key]

    def _suite_scope(self, project: dict[str, Any], filters: dict[str, str]) -> int:
        if "suite_id" in filters:
            sid = _int_filter(filters, "suite_id", 0)
            if sid not in self.suites or self.suites[sid]["project_id"] != project["id"]:
                raise bad("Field :suite_id is not a valid test suite.")
            return sid
        if project["suite_mode"] == 3:
            raise bad("Field :suite_id is a required field.")
        return min(s for s, v in self.suites.items() if v["project_id"] == project["id"])

    # ---------------------------------------------------------------------------------- read methods
    def api_get_projects(self, ids: list[Any], f: dict[str, str]) -> list[Any]:
        items = list(self.projects.values())
        if "is_completed" in f:
            items = [p for p in items if p["is_completed"] == (f["is_completed"] == "1")]
        return items

    def api_get_project(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self._project(ids)

    def api_get_suites(self, ids: list[Any], f: dict[str, str]) -> Any:
        project = self._project(ids)
        return [s for s in self.suites.values() if s["project_id"] == project["id"]]

    def api_get_suite(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self._one(self.suites, ids, "suite_id", "test suite")

    def api_get_sections(self, ids: list[Any], f: dict[str, str]) -> Any:
        suite_id = self._suite_scope(self._project(ids), f)
        return [s for s in self.sections.values() if s["suite_id"] == suite_id]

    def api_get_section(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self._one(self.sections, ids, "section_id", "section")

    def api_get_cases(self, ids: list[Any], f: dict[str, str]) -> Any:
        suite_id = self._suite_scope(self._project(ids), f)
        items = [c for c in self.cases.values() if c["suite_id"] == suite_id and not c["is_deleted"]]
        if "section_id" in f:
            sec = _int_filter(f, "section_id", 0)
            items = [c for c in items if c["section_id"] == sec]
        for key, field, op in (
            ("updated_after", "updated_on", int.__gt__),
            ("updated_before", "updated_on", int.__lt__),
            ("created_after", "created_on", int.__gt__),
            ("created_before", "created_on", int.__lt__),
        ):
            if key in f:
                bound = _int_filter(f, key, 0)
                items = [c for c in items if op(c[field], bound)]
        for key in ("priority_id", "type_id", "milestone_id", "template_id", "created_by", "updated_by"):
            if key in f:
                wanted = _int_list(f, key)
                items = [c for c in items if c[key] in wanted]
        if "refs" in f:
            items = [c for c in items if c["refs"] and f["refs"] in [r.strip() for r in c["refs"].split(",")]]
        if "filter" in f:
            items = [c for c in items if f["filter"].lower() in c["title"].lower()]
        return items

    def api_get_case(self, ids: list[Any], f: dict[str, str]) -> Any:
        case = self._one(self.cases, ids, "case_id", "test case")
        if case["is_deleted"]:
            raise bad("Field :case_id is not a valid test case.")
        return case

    def api_get_labels(self, ids: list[Any], f: dict[str, str]) -> Any:
        self.labels.require("get_labels")
        return self.labels.of_project(self._project(ids)["id"])

    def api_get_label(self, ids: list[Any], f: dict[str, str]) -> Any:
        self.labels.require("get_label")
        return self.labels.one(ids[0] if ids else None)

    def api_update_label(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        self.labels.require("update_label")
        return self.labels.rename(self.labels.one(ids[0] if ids else None), body, list(self.cases.values()))

    def api_get_case_fields(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self.case_fields

    def api_get_result_fields(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self.result_fields

    def api_get_case_types(self, ids: list[Any], f: dict[str, str]) -> Any:
        names = [
            "Acceptance",
            "Accessibility",
            "Automated",
            "Compatibility",
            "Destructive",
            "Functional",
            "Other",
            "Performance",
            "Regression",
            "Security",
            "Smoke & Sanity",
            "Usability",
        ]
        return [{"id": i, "name": n, "is_default": i == 7} for i, n in enumerate(names, start=1)]

    def api_get_priorities(self, ids: list[Any], f: dict[str, str]) -> Any:
        rows = [
            (1, "Low", "4 - Low"),
            (2, "Medium", "3 - Medium"),
            (3, "High", "2 - High"),
            (4, "Critical", "1 - Must Test"),
        ]
        return [
            {"id": i, "name": full, "short_name": short, "is_default": i == 2, "priority": i} for i, short, full in rows
        ]

    def api_get_statuses(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self.statuses

    def api_get_templates(self, ids: list[Any], f: dict[str, str]) -> Any:
        self._project(ids)
        return [
            {"id": 1, "name": "Test Case (Text)", "is_default": False},
            {"id": 2, "name": "Test Case (Steps)", "is_default": True},
            {"id": 3, "name": "Exploratory Session", "is_default": False},
        ]

    def api_get_configs(self, ids: list[Any], f: dict[str, str]) -> Any:
        project = self._project(ids)
        return [g for g in self.config_groups.values() if g["project_id"] == project["id"]]

    def api_get_milestones(self, ids: list[Any], f: dict[str, str]) -> Any:
        project = self._project(ids)
        items = [m for m in self.milestones.values() if m["project_id"] == project["id"]]
        if "is_completed" in f:
            items = [m for m in items if m["is_completed"] == (f["is_completed"] == "1")]
        return items

    def api_get_milestone(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self._one(self.milestones, ids, "milestone_id", "milestone")

    def api_get_users(self, ids: list[Any], f: dict[str, str]) -> Any:
        return list(self.users.values())

    def api_get_user(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self._one(self.users, ids, "user_id", "user")

    def api_get_current_user(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self.users[1]

    def api_get_user_by_email(self, ids: list[Any], f: dict[str, str]) -> Any:
        email = f.get("email", "").lower()
        for u in self.users.values():
            if u["email"].lower() == email:
                return u
        raise bad("Field :email is not a valid email address.")

    def api_get_plans(self, ids: list[Any], f: dict[str, str]) -> Any:
        project = self._project(ids)
        items = [p for p in self.plans.values() if p["project_id"] == project["id"]]
        items = _filter_created(items, f)
        if "is_completed" in f:
            items = [p for p in items if p["is_completed"] == (f["is_completed"] == "1")]
        if "milestone_id" in f:
            wanted = _int_list(f, "milestone_id")
            items = [p for p in items if p["milestone_id"] in wanted]
        # newest first, as TestRail lists plans
        return [self._plan_json(p["id"], entries=False) for p in sorted(items, key=lambda p: -p["id"])]

    def api_get_plan(self, ids: list[Any], f: dict[str, str]) -> Any:
        plan = self._one(self.plans, ids, "plan_id", "test plan")
        return self._plan_json(plan["id"])

    def api_get_runs(self, ids: list[Any], f: dict[str, str]) -> Any:
        project = self._project(ids)
        # plan runs are not listed by get_runs (only standalone runs), as in TestRail
        items = [r for r in self.runs.values() if r["project_id"] == project["id"] and r["plan_id"] is None]
        items = _filter_created(items, f)
        if "is_completed" in f:
            items = [r for r in items if r["is_completed"] == (f["is_completed"] == "1")]
        if "suite_id" in f:
            wanted = _int_list(f, "suite_id")
            items = [r for r in items if r["suite_id"] in wanted]
        return [self._run_json(r["id"]) for r in sorted(items, key=lambda r: -r["id"])]

    def api_get_run(self, ids: list[Any], f: dict[str, str]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        return self._run_json(run["id"])

    def api_get_tests(self, ids: list[Any], f: dict[str, str]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        items = [t for t in self.tests.values() if t["run_id"] == run["id"]]
        if "status_id" in f:
            wanted = _int_list(f, "status_id")
            items = [t for t in items if t["status_id"] in wanted]
        return items

    def api_get_test(self, ids: list[Any], f: dict[str, str]) -> Any:
        return self._one(self.tests, ids, "test_id", "test")

    def _results_of(self, tests: set[int], f: dict[str, str]) -> list[dict[str, Any]]:
        items = [r for r in self.results.values() if r["test_id"] in tests]
        items = _filter_created(items, f)
        if "status_id" in f:
            wanted = _int_list(f, "status_id")
            items = [r for r in items if r["status_id"] in wanted]
        return sorted(items, key=lambda r: -r["id"])  # newest first, as TestRail answers

    def api_get_results(self, ids: list[Any], f: dict[str, str]) -> Any:
        test = self._one(self.tests, ids, "test_id", "test")
        return self._results_of({test["id"]}, f)

    def api_get_results_for_case(self, ids: list[Any], f: dict[str, str]) -> Any:
        run = self._one(self.runs, ids[:1], "run_id", "test run")
        test = self._test_for(run["id"], ids[1] if len(ids) > 1 else -1)
        if test is None:
            raise bad("Field :case_id is not a valid test case.")
        return self._results_of({test["id"]}, f)

    def api_get_results_for_run(self, ids: list[Any], f: dict[str, str]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        return self._results_of({t["id"] for t in self.tests.values() if t["run_id"] == run["id"]}, f)

    # --------------------------------------------------------------------------------- write methods
    def api_add_suite(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        project = self._project(ids)
        if not body.get("name"):
            raise bad("Field :name is a required field.")
        if project["suite_mode"] == 1:
            raise bad("This project is in single suite mode and cannot have additional test suites.")
        return self.suites[self._new_suite(project["id"], body["name"], description=body.get("description"))]

    def api_add_section(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        project = self._project(ids)
        if not body.get("name"):
            raise bad("Field :name is a required field.")
        parent_id = body.get("parent_id")
        if parent_id is not None:
            parent = self.sections.get(parent_id)
            if parent is None:
                raise bad("Field :parent_id is not a valid section.")
            suite_id = parent["suite_id"]
            if body.get("suite_id") not in (None, suite_id):
                raise bad("Field :parent_id is not a valid section of this test suite.")
        else:
            suite_id = self._validate_suite(project["id"], body.get("suite_id"))
        sid = self._insert_section(suite_id, body["name"], parent_id, description=body.get("description"))
        return self.sections[sid]

    def api_update_section(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        section = self._one(self.sections, ids, "section_id", "section")
        for key in ("name", "description"):
            if key in body:
                section[key] = body[key]
        return section

    def api_delete_section(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        section = self._one(self.sections, ids, "section_id", "section")
        doomed = {section["id"]}
        changed = True
        while changed:
            more = {s["id"] for s in self.sections.values() if s["parent_id"] in doomed} - doomed
            doomed |= more
            changed = bool(more)
        for case in self.cases.values():
            if case["section_id"] in doomed:
                case["is_deleted"] = 1
        for sid in doomed:
            del self.sections[sid]
        return {}

    def api_add_case(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        section = self._one(self.sections, ids, "section_id", "section")
        if not body.get("title"):
            raise bad("Field :title is a required field.")
        self._check_case_fields(body, creating=True)
        return self._insert_case(section["id"], body)

    def api_update_case(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        case = self.api_get_case(ids, f)
        if "title" in body and not body["title"]:
            raise bad("Field :title cannot be empty.")
        self._check_case_fields(body, creating=False)
        if "section_id" in body:
            section = self.sections.get(body["section_id"])
            if section is None or section["suite_id"] != case["suite_id"]:
                raise bad("Field :section_id is not a valid section.")
            case["section_id"] = section["id"]
        self._apply_case_body(case, body)
        self.labels.apply(case, self.suites[case["suite_id"]]["project_id"], body)
        case["updated_on"] = self.clock()
        case["updated_by"] = 1
        return case

    def api_delete_case(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        case = self.api_get_case(ids, f)
        case["is_deleted"] = 1
        for test in [t for t in self.tests.values() if t["case_id"] == case["id"]]:
            run = self.runs[test["run_id"]]
            if not run["is_completed"]:
                del self.tests[test["id"]]
        return {}

    def api_add_milestone(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        project = self._project(ids)
        if not body.get("name"):
            raise bad("Field :name is a required field.")
        mid = self.next_id("milestone")
        self.milestones[mid] = {
            "id": mid,
            "name": body["name"],
            "description": body.get("description"),
            "project_id": project["id"],
            "parent_id": body.get("parent_id"),
            "start_on": body.get("start_on"),
            "started_on": None,
            "due_on": body.get("due_on"),
            "is_started": False,
            "is_completed": False,
            "completed_on": None,
            "refs": body.get("refs"),
            "url": f"/index.php?/milestones/view/{mid}",
            "milestones": [],
        }
        return self.milestones[mid]

    def api_add_run(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        project = self._project(ids)
        suite_id = self._validate_suite(project["id"], body.get("suite_id"))
        if body.get("milestone_id") is not None and body["milestone_id"] not in self.milestones:
            raise bad("Field :milestone_id is not a valid milestone.")
        run = self._create_run(project["id"], suite_id, body)
        return self._run_json(run["id"])

    def api_update_run(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        if run["plan_id"] is not None:
            raise bad("Field :run_id is part of a test plan (use update_plan_entry or update_run_in_plan_entry).")
        return self._update_run(run, body)

    def _update_run(self, run: dict[str, Any], body: dict[str, Any]) -> Any:
        if run["is_completed"]:
            raise bad("Field :run_id refers to a completed test run and cannot be changed.")
        for key in ("name", "description", "milestone_id", "assignedto_id", "refs"):
            if key in body:
                run[key] = body[key]
        if "include_all" in body or "case_ids" in body:
            include_all = body.get("include_all", run["include_all"])
            case_ids = self._validate_case_ids(run["suite_id"], body.get("case_ids"))
            if not include_all and "case_ids" not in body:
                case_ids = [t["case_id"] for t in self.tests.values() if t["run_id"] == run["id"]]
            self._set_run_cases(run, include_all, case_ids)
        run["updated_on"] = self.clock()
        return self._run_json(run["id"])

    def api_close_run(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        if run["plan_id"] is not None:
            raise bad("Field :run_id is part of a test plan and cannot be closed individually.")
        run["is_completed"] = True
        run["completed_on"] = self.clock()
        return self._run_json(run["id"])

    def api_delete_run(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        if run["plan_id"] is not None:
            raise bad("Field :run_id is part of a test plan (use delete_plan_entry).")
        self._delete_run(run["id"])
        return {}

    def _open_plan(self, ids: list[Any]) -> dict[str, Any]:
        plan_id = _int_id(ids[0]) if ids else None
        plan = self._one(self.plans, [plan_id], "plan_id", "test plan")
        return plan

    def api_add_plan(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        project = self._project(ids)
        return self._create_plan(project["id"], body)

    def api_add_plan_entry(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        plan = self._open_plan(ids)
        if plan["is_completed"]:
            raise bad("Field :plan_id refers to a completed test plan and cannot be changed.")
        project = self.projects[plan["project_id"]]
        if body.get("suite_id") is None and project["suite_mode"] == 3:
            raise bad("Field :suite_id is a required field.")
        return self._entry_json(self._add_entry(plan, body)["id"])

    def api_update_plan(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        plan = self._open_plan(ids)
        if plan["is_completed"]:
            raise bad("Field :plan_id refers to a completed test plan and cannot be changed.")
        if "name" in body and not body["name"]:
            raise bad("Field :name cannot be empty.")
        if body.get("milestone_id") is not None and body["milestone_id"] not in self.milestones:
            raise bad("Field :milestone_id is not a valid milestone.")
        for key in ("name", "description", "milestone_id", "assignedto_id", "refs"):
            if key in body:
                plan[key] = body[key]
        return self._plan_json(plan["id"])

    def _entry_of(self, plan: dict[str, Any], ids: list[Any]) -> dict[str, Any]:
        entry = self.entries.get(str(ids[1])) if len(ids) > 1 else None
        if entry is None or entry["plan_id"] != plan["id"]:
            raise bad("Field :entry_id is not a valid test plan entry.")
        return entry

    def api_update_plan_entry(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        plan = self._open_plan(ids)
        entry = self._entry_of(plan, ids)
        if plan["is_completed"]:
            raise bad("Field :plan_id refers to a completed test plan and cannot be changed.")
        for key in ("name", "description", "refs"):
            if key in body:
                entry[key] = body[key]
        run_body = {
            k: v
            for k, v in body.items()
            if k in ("name", "description", "assignedto_id", "include_all", "case_ids", "refs")
        }
        if "include_all" in run_body or "case_ids" in run_body:
            entry["include_all"] = run_body.get("include_all", entry["include_all"])
        self._validate_case_ids(entry["suite_id"], run_body.get("case_ids"))
        for rid in entry["run_ids"]:
            self._update_run(self.runs[rid], run_body)
        return self._entry_json(entry["id"])

    def api_update_run_in_plan_entry(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        if run["plan_id"] is None:
            raise bad("Field :run_id is not part of a test plan.")
        allowed = {
            k: v for k, v in body.items() if k in ("description", "assignedto_id", "include_all", "case_ids", "refs")
        }
        return self._update_run(run, allowed)

    def api_delete_run_from_plan_entry(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        run = self._one(self.runs, ids, "run_id", "test run")
        if run["plan_id"] is None:
            raise bad("Field :run_id is not part of a test plan.")
        entry = self.entries[run["entry_id"]]
        self._delete_run(run["id"])
        entry["run_ids"].remove(run["id"])
        if not entry["run_ids"]:
            del self.entries[entry["id"]]
        return {}

    def api_close_plan(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        plan = self._open_plan(ids)
        now = self.clock()
        plan["is_completed"] = True
        plan["completed_on"] = now
        for e in self.entries.values():
            if e["plan_id"] == plan["id"]:
                for rid in e["run_ids"]:
                    self.runs[rid]["is_completed"] = True
                    self.runs[rid]["completed_on"] = now
        return self._plan_json(plan["id"])

    def api_delete_plan(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        plan = self._open_plan(ids)
        self._delete_plan(plan["id"])
        return {}

    def api_delete_plan_entry(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        plan = self._open_plan(ids)
        entry = self._entry_of(plan, ids)
        if plan["is_completed"]:
            raise bad("Field :plan_id refers to a completed test plan and cannot be changed.")
        self._delete_entry(entry["id"])
        return {}

    def _writable_run(self, ids: list[Any]) -> dict[str, Any]:
        run = self._one(self.runs, ids[:1], "run_id", "test run")
        if run["is_completed"]:
            raise bad("Field :run_id refers to a completed test run; results cannot be added.")
        return run

    def api_add_result(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        test = self._one(self.tests, ids, "test_id", "test")
        self._writable_run([test["run_id"]])
        return self._insert_result(test, body)

    def api_add_result_for_case(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        run = self._writable_run(ids)
        test = self._test_for(run["id"], ids[1] if len(ids) > 1 else -1)
        if test is None:
            raise bad("Field :case_id is not a valid test case for this run.")
        return self._insert_result(test, body)

    def _bulk_results(self, run: dict[str, Any], items: Any, key: str) -> list[dict[str, Any]]:
        if not isinstance(items, list) or not items:
            raise bad("Field :results is a required field.")
        targets = []
        # TestRail validates the whole request before storing anything (all or nothing)
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise bad(f"Field :results[{n}] is not a valid result.")
            target = item.get(key)
            test = (
                (self._test_for(run["id"], target) if isinstance(target, int) else None)
                if key == "case_id"
                else (self.tests.get(target) if isinstance(target, int) else None)
            )
            if test is None or test["run_id"] != run["id"]:
                what = "test case" if key == "case_id" else "test"
                raise bad(f"Field :results[{n}].{key} is not a valid {what} for this run.")
            if item.get("status_id") is not None and item["status_id"] not in {s["id"] for s in self.statuses}:
                raise bad(f"Field :results[{n}].status_id is not a valid status.")
            if item.get("elapsed") not in (None, ""):
                try:
                    span_seconds(str(item["elapsed"]))
                except ValueError:
                    raise bad(f"Field :results[{n}].elapsed is not in a valid time span format.") from None
            targets.append(test)
        return [self._insert_result(test, item) for test, item in zip(targets, items, strict=True)]

    def api_add_results(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        return self._bulk_results(self._writable_run(ids), body.get("results"), "test_id")

    def api_add_results_for_cases(self, ids: list[Any], f: dict[str, str], body: dict[str, Any]) -> Any:
        return self._bulk_results(self._writable_run(ids), body.get("results"), "case_id")


def _int_id(value: Any) -> int | Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _int_filter(filters: dict[str, str], key: str, default: int) -> int:
    raw = filters.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad(f"Field :{key} is not a valid integer.") from None


def _int_list(filters: dict[str, str], key: str) -> set[int]:
    try:
        return {int(v) for v in filters[key].split(",") if v.strip()}
    except ValueError:
        raise bad(f"Field :{key} is not a valid list of integers.") from None


def _filter_created(items: list[dict[str, Any]], f: dict[str, str]) -> list[dict[str, Any]]:
    if "created_after" in f:
        bound = _int_filter(f, "created_after", 0)
        items = [i for i in items if i["created_on"] > bound]
    if "created_before" in f:
        bound = _int_filter(f, "created_before", 0)
        items = [i for i in items if i["created_on"] < bound]
    if "created_by" in f:
        wanted = _int_list(f, "created_by")
        items = [i for i in items if i["created_by"] in wanted]
    return items
