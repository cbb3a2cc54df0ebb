"""What the TestPlanIt simulator starts with: the server's own seed, then a project made one of two ways.

- **Server seed** (every real 0.11.13 server has it): the ten case field types, case fields 1 Description
  (Text Long), 2 Priority (Dropdown Critical/High/Medium/Low, Medium the default), 3 Expected (Text Long) and
  4 Steps, result field 1 Notes, template 1 "Default Template" (the global default) holding Priority,
  Description, Steps and Expected, the workflows (SESSIONS 1-5, RUNS 6-10, CASES 11-16) and the statuses.
- **"ui" style** (the default): a project as an admin sets one up in the UI. The admin added Preconditions
  (Text Long), Type (Dropdown), Component (Text String) and Platforms (Multi-Select) to the default template,
  made a second template "Exploratory", and ticked both templates and the workflows in the project wizard.
  There is no "Root" folder: a new project has no folder at all, and seeded data lives in several top-level
  folders with sub-folders. Cases are made as the UI's form makes them (values as ``caseFieldValues`` rows,
  Text Long and steps as TipTap JSON strings, dropdowns as option ids).
- **"repo" style**: like the TestPlanIt repository's own E2E seed: only the server seed's fields, the
  project has no template assignment (so its case form has no template), and one top-level folder "Root".
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.testplanit.simdb import Database
from adapters.testplanit.simschema import MODELS

ADMIN_ID = "cmadmin0000000000000000a"
STYLES = ("ui", "repo")

_COMMON = [
    {"key": "isEnabled", "displayName": "Is Enabled"},
    {"key": "isRequired", "displayName": "Is Required"},
    {"key": "isRestricted", "displayName": "Is Restricted"},
]
#: the field types in the server seed's order (ids 1-10) with the admin form's specific options
FIELD_TYPES: list[tuple[str, list[tuple[str, str]]]] = [
    ("Checkbox", [("isChecked", "Default Setting:")]),
    ("Date", []),
    ("Dropdown", [("dropdownOptions", "Dropdown Options")]),
    ("Integer", [("minValue", "Minimum Value"), ("maxValue", "Maximum Value")]),
    ("Link", []),
    ("Multi-Select", [("dropdownOptions", "Multi-Select Options")]),
    ("Number", [("minValue", "Minimum Value"), ("maxValue", "Maximum Value")]),
    ("Text String", [("defaultValue", "Default Value")]),
    ("Text Long", [("initialHeight", "Initial Height"), ("defaultValue", "Default Value")]),
    ("Steps", []),
]
TYPE_ID = {name: i for i, (name, _) in enumerate(FIELD_TYPES, start=1)}
CASE_TYPES = [
    "Functional",
    "Regression",
    "Smoke",
    "Acceptance",
    "Automated",
    "Performance",
    "Security",
    "Usability",
    "Compatibility",
    "Other",
]


def doc(text: str, *, bold: bool = False) -> str:
    """A TipTap document as the UI's editor stores it: a JSON string."""
    node: dict[str, Any] = {"type": "text", "text": text}
    if bold:
        node["marks"] = [{"type": "bold"}]
    return json.dumps({"type": "doc", "content": [{"type": "paragraph", "content": [node]}]})


class Seeder:
    """Writes the seed rows into a :class:`Database` (ids as a fresh server numbers them)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.fields: dict[str, int] = {}  # systemName -> case field id
        self.options: dict[tuple[str, str], int] = {}  # (systemName, option name) -> option id

    # ---------------------------------------------------------------------------------- server seed
    def server(self) -> None:
        db = self.db
        for name, specific in FIELD_TYPES:
            options = {"commonOptions": _COMMON, "specificOptions": [{"key": k, "displayName": d} for k, d in specific]}
            db.insert("caseFieldTypes", {"type": name, "options": json.dumps(options, separators=(",", ":"))})
        self.case_field("Description", "Text Long")
        self.case_field(
            "Priority",
            "Dropdown",
            options=["Critical", "High", "Medium", "Low"],
            default="Medium",
            icons=[(297, 10), (288, 16), (873, 22), (287, 34)],
        )
        self.case_field("Expected", "Text Long")
        self.case_field("Steps", "Steps")
        notes = db.insert(
            "resultFields", {"displayName": "Notes", "systemName": "notes", "typeId": TYPE_ID["Text Long"]}
        )
        template = db.insert("templates", {"templateName": "Default Template", "isEnabled": True, "isDefault": True})
        self.template_id: int = template["id"]
        self.assign(template["id"], ["priority", "description", "steps", "expected"])
        db.insert("templateResultAssignment", {"resultFieldId": notes["id"], "templateId": template["id"], "order": 1})
        # ids as on a fresh server: SESSIONS 1-5, RUNS 6-10, CASES 11-16
        for scope, names in (
            ("SESSIONS", ["New", "In Progress", "Under Review", "Done", "Rejected"]),
            ("RUNS", ["New", "In Progress", "Under Review", "Done", "Rejected"]),
            ("CASES", ["Draft", "Under Review", "Rejected", "Active", "Done", "Archived"]),
        ):
            for i, name in enumerate(names):
                kind = "NOT_STARTED" if i == 0 else "DONE" if name in ("Done", "Archived") else "IN_PROGRESS"
                if scope != "CASES" and name == "Rejected":
                    kind = "DONE"
                db.insert(
                    "workflows", {"name": name, "order": i, "isDefault": i == 0, "workflowType": kind, "scope": scope}
                )
        for i, (system, aliases, success, failure, completed) in enumerate(
            [
                ("untested", None, False, False, False),
                ("passed", "ok,success", True, False, True),
                ("failed", "failure", False, True, True),
                ("retest", None, False, False, False),
                ("blocked", None, False, False, False),
                ("skipped", None, False, False, True),
                ("exception", "error", False, True, True),
            ]
        ):
            db.insert(
                "status",
                {
                    "order": i,
                    "name": system.capitalize(),
                    "systemName": system,
                    "aliases": aliases,
                    "isSuccess": success,
                    "isFailure": failure,
                    "isCompleted": completed,
                },
            )
        db.insert("milestoneTypes", {"name": "Sprint", "isDefault": True})

    def case_field(
        self,
        display: str,
        kind: str,
        *,
        options: list[str] | None = None,
        default: str | None = None,
        icons: list[tuple[int, int]] | None = None,
        **extra: Any,
    ) -> int:
        system = display.lower().replace(" ", "_")
        row = self.db.insert(
            "caseFields", {"displayName": display, "systemName": system, "typeId": TYPE_ID[kind], **extra}
        )
        self.fields[system] = row["id"]
        for order, name in enumerate(options or [], start=1):
            icon, color = icons[order - 1] if icons else (None, None)
            values = {"name": name, "order": order, "isDefault": name == default, "iconId": icon, "iconColorId": color}
            option = self.db.insert("fieldOptions", values)
            self.db.insert("caseFieldAssignment", {"fieldOptionId": option["id"], "caseFieldId": row["id"]})
            self.options[(system, name)] = option["id"]
        return int(row["id"])

    def assign(self, template_id: int, systems: list[str]) -> None:
        for order, system in enumerate(systems, start=1):
            self.db.insert(
                "templateCaseAssignment",
                {"caseFieldId": self.fields[system], "templateId": template_id, "order": order},
            )

    # ---------------------------------------------------------------------------------- projects
    def project(self, name: str, style: str) -> tuple[int, int]:
        """The project and its repository; in the "ui" style with its templates and workflows assigned."""
        db = self.db
        project = db.insert("projects", {"name": name}, auth=ADMIN_ID)
        repo = db.insert("repositories", {"projectId": project["id"]})
        self.root_id: int | None = None
        if style == "repo":  # the repo's E2E seed makes one folder, "Root" (the UI never does)
            root = {"projectId": project["id"], "repositoryId": repo["id"], "name": "Root"}
            self.root_id = db.insert("repositoryFolders", root, auth=ADMIN_ID)["id"]
        if style == "ui":
            self.case_field("Preconditions", "Text Long")
            self.case_field("Type", "Dropdown", options=CASE_TYPES, default="Functional")
            self.case_field("Component", "Text String")
            self.case_field("Platforms", "Multi-Select", options=["Web", "iOS", "Android"])
            # added to the default template after the server seed's four fields
            for order, system in enumerate(["preconditions", "type", "component", "platforms"], start=5):
                db.insert(
                    "templateCaseAssignment",
                    {"caseFieldId": self.fields[system], "templateId": self.template_id, "order": order},
                )
            exploratory = db.insert("templates", {"templateName": "Exploratory", "isEnabled": True, "isDefault": False})
            self.assign(exploratory["id"], ["description", "steps"])
            for template in (self.template_id, exploratory["id"]):
                db.insert("templateProjectAssignment", {"templateId": template, "projectId": project["id"]})
            for flow in db.tables["workflows"].values():
                if flow["scope"] in ("CASES", "RUNS"):
                    db.insert("projectWorkflowAssignment", {"workflowId": flow["id"], "projectId": project["id"]})
        return int(project["id"]), int(repo["id"])

    # ---------------------------------------------------------------------------------- data
    def data(
        self,
        rng: random.Random,
        style: str,
        project_id: int,
        repository_id: int,
        *,
        cases: int,
        steps_per_case: int,
        folders: int | None,
    ) -> None:
        db = self.db
        base = {"projectId": project_id, "repositoryId": repository_id}
        folder_ids = self._folders(base, style, folders if folders is not None else 6)
        tag_ids = [db.insert("tags", {"name": t})["id"] for t in ("smoke", "regression", "api", "ui")]
        state = self._flow("CASES")
        verbs = ["Open", "Submit", "Check", "Upload", "Delete", "Rename", "Export", "Filter"]
        things = ["the login page", "a payment", "the monthly report", "user settings", "a search query"]
        case_ids = []
        for i in range(cases):
            title = f"{rng.choice(verbs)} {rng.choice(things)} #{i + 1}"
            case = db.insert(
                "repositoryCases",
                {
                    **base,
                    "folderId": folder_ids[i % len(folder_ids)],
                    "templateId": self.template_id,
                    "stateId": state,
                    "name": title,
                    "className": f"tests.module{i % 7}.test_case_{i + 1}" if i % 3 == 0 else None,
                    "source": "JUNIT" if i % 3 == 0 else "MANUAL",
                    "automated": i % 3 == 0,
                    "estimate": rng.choice([None, 60, 120, 300]),
                    "order": i,
                },
                auth=ADMIN_ID,
            )
            case_ids.append(case["id"])
            for s in range(steps_per_case if i % 5 else max(0, steps_per_case - 2)):
                db.insert(
                    "steps",
                    {
                        "testCaseId": case["id"],
                        "order": s,
                        "step": doc(f"{rng.choice(verbs)} step {s + 1} of case {i + 1}", bold=s == 0),
                        "expectedResult": doc(f"Result {s + 1} is shown"),
                    },
                )
            for t in rng.sample(tag_ids, rng.randint(0, 2)):
                db.link("repositoryCases", MODELS["repositoryCases"].relations["tags"], case["id"], t)
            if style == "ui":
                self._values(rng, case["id"], title, i)
        if cases and cases <= 200:
            self._run(project_id, case_ids)

    def _folders(self, base: dict[str, Any], style: str, count: int) -> list[int]:
        db = self.db
        if style == "repo":
            root = self.root_id
            assert root is not None
            return [root] + [
                db.insert("repositoryFolders", {**base, "name": f"Area {i + 1}", "parentId": root}, auth=ADMIN_ID)["id"]
                for i in range(max(0, count - 1))
            ]
        top = ["Authentication", "Payments", "Reports"]
        children = ["Login", "Cards", "Monthly", "Password reset", "Refunds", "Exports"]
        ids: list[int] = []
        for i in range(max(1, count)):
            if i < len(top):
                row = db.insert("repositoryFolders", {**base, "name": top[i], "order": i}, auth=ADMIN_ID)
            else:
                j = i - len(top)
                name = children[j % len(children)] + ("" if j < len(children) else f" {j}")
                row = db.insert(
                    "repositoryFolders", {**base, "name": name, "parentId": ids[j % len(top)]}, auth=ADMIN_ID
                )
            ids.append(row["id"])
        return ids

    def _values(self, rng: random.Random, case_id: int, title: str, i: int) -> None:
        """The values the UI's form writes for a case: one caseFieldValues row per filled field."""
        values: dict[str, Any] = {
            "description": doc(f"Checks that {title.split(' #')[0].lower()} works."),
            "priority": self.options[("priority", rng.choice(["Critical", "High", "Medium", "Low"]))],
            "type": self.options[("type", "Automated" if i % 3 == 0 else rng.choice(["Functional", "Regression"]))],
        }
        if i % 2 == 0:
            values["preconditions"] = doc("A signed-in user")
        if i % 4 == 0:
            values["component"] = rng.choice(["Auth", "Billing", "Reporting"])
            values["platforms"] = sorted({self.options[("platforms", p)] for p in rng.sample(["Web", "iOS"], 1)})
        for system, value in values.items():
            self.db.insert("caseFieldValues", {"testCaseId": case_id, "fieldId": self.fields[system], "value": value})

    def _flow(self, scope: str) -> int:
        return next(r["id"] for r in self.db.tables["workflows"].values() if r["scope"] == scope and r["isDefault"])

    def _run(self, project_id: int, case_ids: list[int]) -> None:
        db = self.db
        run = db.insert(
            "testRuns",
            {"projectId": project_id, "name": "Regression run", "stateId": self._flow("RUNS")},
            auth=ADMIN_ID,
        )
        when = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        for order, cid in enumerate(case_ids[: min(10, len(case_ids))]):
            rc = db.insert("testRunCases", {"testRunId": run["id"], "repositoryCaseId": cid, "order": order})
            if order < 5:
                status = 2 if order % 2 == 0 else 3
                db.insert(
                    "testRunResults",
                    {
                        "testRunId": run["id"],
                        "testRunCaseId": rc["id"],
                        "statusId": status,
                        "executedAt": when + timedelta(minutes=order),
                        "elapsed": 30 + order,
                    },
                    auth=ADMIN_ID,
                )
                db.patch("testRunCases", rc, {"statusId": status, "isCompleted": True})
