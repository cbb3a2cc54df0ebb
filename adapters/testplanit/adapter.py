"""TestPlanIt adapter over the real server's model API (0.11.x). Mapping decisions: see convert.py."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.base import Adapter, Capabilities, FieldLimits, SystemSettings, check_limits
from adapters.testplanit import convert, richtext
from adapters.testplanit.client import TestPlanItClient
from adapters.testplanit.query import CASE_INCLUDE, PLAN_INCLUDE, RESULT_INCLUDE, case_scope, connect, has_marker
from adapters.testplanit.settings import TestPlanItSettings
from bridge.errors import AuthError, CannotRepresent, NotFound, UniqueViolation, Unrepresentable, ValidationFailed
from bridge.model import Case, Entity, Folder, Plan, PlanState, Result, Status
from mappings.valuemaps import ValueMaps

PAGE_SIZE = 500


class TestPlanItAdapter(Adapter):
    __test__ = False
    kind = "testplanit"
    capabilities: ClassVar[Capabilities] = Capabilities(
        entities=frozenset(Entity),
        incremental_cases=False,  # no updatedAt on cases: change detection compares content hashes
        trustworthy_timestamps=False,
        read_results=True,
        plan_runs=False,
        limits=FieldLimits(),
        # description, preconditions, priority, type and custom fields live in template case fields, which
        # the adapter does not write: jobs do not merge them with this side
        case_fields=frozenset(
            {"folder", "title", "steps", "tags", "automation_key", "estimate_seconds", "requirements"}
        ),
        # a plan is a test run: no dates, no owner
        plan_fields=frozenset({"name", "description", "milestone", "state"}),
    )

    def __init__(self, name: str, settings: SystemSettings, value_maps: ValueMaps) -> None:
        super().__init__(name, settings, value_maps)
        assert isinstance(settings, TestPlanItSettings)
        self.tpi_settings = settings
        self._client: TestPlanItClient | None = None
        self._lock = threading.RLock()
        self._folders: dict[int, dict[str, Any]] | None = None
        self._milestones: dict[int, str] | None = None
        # issue (requirement) name -> id, filled as names are resolved: a migration links the same few
        # requirements to thousands of cases, and one lookup per case was a fifth of all its requests.
        # Lives as long as the adapter (one run); an issue renamed meanwhile is found again next run.
        self._issues: dict[str, int] = {}
        self.user_id = ""
        self.project_id = 0
        self.repository_id = 0
        self.root_folder_id = 0
        self.template_id = 0
        self.case_state_id = 0
        self.run_state_id = 0
        self.statuses: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------------------ lifecycle
    @property
    def client(self) -> TestPlanItClient:
        if self._client is None:
            raise RuntimeError("call connect() first")
        return self._client

    def connect(self) -> None:
        token = self.tpi_settings.token.get_secret_value().strip()
        if not token.startswith("tpi_"):
            raise AuthError(
                "TestPlanIt API tokens start with 'tpi_'",
                system=self.name,
                hint="Create one under the user's API tokens.",
            )
        self._client = TestPlanItClient(self.settings.http_settings(), token)
        # The server answers a request it cannot authenticate with an empty 200, so an unresolved token would
        # look like an empty project: resolve the token to its user before trusting any read.
        me = self.client.read(
            "apiToken", "findFirst", {"where": {"tokenPrefix": token[:12]}, "select": {"userId": True}}
        )
        if not me or not me.get("userId"):
            raise AuthError(
                "the API token did not resolve to a user (the server answers unauthenticated reads with empty data)",
                system=self.name,
                hint="Check the token, that it is active, and that its user is active and allowed API access.",
            )
        self.user_id = me["userId"]
        settings = self.tpi_settings
        where: dict[str, Any] = {"isDeleted": False}
        where.update({"id": settings.project_id} if settings.project_id is not None else {"name": settings.project})
        project = self.client.read("projects", "findFirst", {"where": where, "select": {"id": True, "name": True}})
        if not project:
            what = f"id {settings.project_id}" if settings.project_id is not None else repr(settings.project)
            raise NotFound(f"project {what} not found", system=self.name, hint="Check project_id/project and access.")
        self.project_id = project["id"]
        repo = self.client.read(
            "repositories",
            "findFirst",
            {"where": {"projectId": self.project_id, "isActive": True, "isDeleted": False}, "select": {"id": True}},
        )
        if not repo:
            raise NotFound(f"project {self.project_id} has no active repository", system=self.name)
        self.repository_id = repo["id"]
        root = self.client.read(
            "repositoryFolders",
            "findFirst",
            {"where": self._folder_scope(parentId=None), "select": {"id": True}, "orderBy": {"id": "asc"}},
        )
        if not root:
            raise NotFound(f"project {self.project_id} has no root folder", system=self.name)
        self.root_folder_id = root["id"]
        template = self.client.read(
            "templates", "findFirst", {"where": {"isDeleted": False, "isDefault": True}, "select": {"id": True}}
        )
        if not template:
            raise NotFound("no default case template", system=self.name)
        self.template_id = template["id"]
        flows = self.client.read(
            "workflows",
            "findMany",
            {
                "where": {"scope": {"in": ["CASES", "RUNS"]}, "isDeleted": False},
                "select": {"id": True, "scope": True, "isDefault": True},
                "orderBy": {"order": "asc"},
            },
        )
        self.case_state_id = self._default_flow(flows, "CASES")
        self.run_state_id = self._default_flow(flows, "RUNS")
        self.statuses = self.client.read(
            "status",
            "findMany",
            {
                "where": {"isEnabled": True, "isDeleted": False},
                "select": {
                    "id": True,
                    "systemName": True,
                    "aliases": True,
                    "isSuccess": True,
                    "isFailure": True,
                    "isCompleted": True,
                },
            },
        )

    def _default_flow(self, flows: list[dict[str, Any]], scope: str) -> int:
        mine = [f for f in flows if f["scope"] == scope]
        if not mine:
            raise NotFound(f"no {scope.lower()} workflow states", system=self.name)
        return int(next((f for f in mine if f["isDefault"]), mine[0])["id"])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def describe(self) -> str:
        return f"{self.name} (testplanit project {self.project_id or self.tpi_settings.project} at {self.settings.url})"

    # -------------------------------------------------------------------------------------------- folders
    def _folder_scope(self, **extra: Any) -> dict[str, Any]:
        return {"projectId": self.project_id, "repositoryId": self.repository_id, "isDeleted": False, **extra}

    def _folder_rows(self) -> dict[int, dict[str, Any]]:
        with self._lock:
            if self._folders is None:
                rows: dict[int, dict[str, Any]] = {}
                for page in self.client.pages(
                    "repositoryFolders",
                    {"where": self._folder_scope(), "select": {"id": True, "name": True, "parentId": True}},
                    page_size=PAGE_SIZE * 4,
                ):
                    rows.update({r["id"]: r for r in page})
                self._folders = rows
            return self._folders

    def _paths(self) -> dict[int, tuple[str, ...]]:
        with self._lock:
            return convert.folder_paths(self._folder_rows().values())

    def iter_folders(self) -> Iterator[Folder]:
        yield from convert.folders_from_native(self._folder_rows().values())

    def ensure_folder(self, path: Sequence[str]) -> str:
        with self._lock:
            rows = self._folder_rows()
            parent = self.root_folder_id
            for name in Folder(path=tuple(path)).path:
                child = next((r for r in rows.values() if r.get("parentId") == parent and r["name"] == name), None)
                if child is None:
                    child = self._create_folder(parent, name)
                    rows[child["id"]] = child
                parent = child["id"]
            return str(parent)

    def _create_folder(self, parent: int, name: str) -> dict[str, Any]:
        select = {"id": True, "name": True, "parentId": True}
        try:
            return dict(
                self.client.create(
                    "repositoryFolders",
                    {
                        "data": {
                            "name": name,
                            "project": connect(self.project_id),
                            "repository": connect(self.repository_id),
                            "parent": connect(parent),
                        },
                        "select": select,
                    },
                )
            )
        except UniqueViolation:
            # someone else created it since we read the tree: use theirs
            found = self.client.read(
                "repositoryFolders",
                "findFirst",
                {"where": self._folder_scope(parentId=parent, name=name), "select": select},
            )
            if not found:
                raise
            return dict(found)

    # ---------------------------------------------------------------------------------------------- cases
    def iter_cases(self, *, since: datetime | None = None) -> Iterator[Case]:
        # no updatedAt on the server: every read is full; the engine compares content hashes
        paths = self._paths()
        args = {"where": case_scope(self.project_id, self.repository_id), "include": CASE_INCLUDE}
        for page in self.client.pages("repositoryCases", args, page_size=PAGE_SIZE):
            for row in page:
                yield convert.case_from_native(row, paths)

    def _find_case(self, where: dict[str, Any]) -> dict[str, Any] | None:
        scope = case_scope(self.project_id, self.repository_id)
        row = self.client.read("repositoryCases", "findFirst", {"where": {**scope, **where}, "include": CASE_INCLUDE})
        return dict(row) if row else None

    def get_case(self, case_id: str) -> Case | None:
        if not case_id.isdigit():
            return None
        row = self._find_case({"id": int(case_id)})
        return convert.case_from_native(row, self._paths()) if row else None

    def find_case_by_marker(self, marker: str) -> Case | None:
        row = self._find_case(has_marker(marker))
        return convert.case_from_native(row, self._paths()) if row else None

    def check_case(self, case: Case) -> list[Unrepresentable]:
        problems = check_limits(case, self.capabilities.limits)
        ref = case.id or case.title
        why = "TestPlanIt keeps it in template case fields, which the bridge does not write"
        for field_name in ("description", "preconditions"):
            value = getattr(case, field_name)
            if value:
                problems.append(Unrepresentable("case", ref, field_name, why, value))
        for field_name in ("priority", "type"):
            value = getattr(case, field_name)
            if value is not None:
                problems.append(Unrepresentable("case", ref, field_name, why, value))
        if case.custom:
            problems.append(Unrepresentable("case", ref, "custom", why, case.custom))
        for tag in case.tags:
            if tag.startswith(convert.MARKER_PREFIX):
                problems.append(
                    Unrepresentable("case", ref, "tags", f"prefix {convert.MARKER_PREFIX!r} is reserved", tag)
                )
        if case.estimate_seconds is not None and case.estimate_seconds < 0:
            problems.append(Unrepresentable("case", ref, "estimate_seconds", "negative", case.estimate_seconds))
        return problems

    def create_case(self, case: Case, *, marker: str) -> Case:
        problems = self.check_case(case)
        if problems:
            raise CannotRepresent(problems)
        folder_id = int(self.ensure_folder(case.folder))
        data: dict[str, Any] = {
            **convert.case_scalars(case),
            "source": "API",
            "automated": case.automation_key is not None,
            "project": connect(self.project_id),
            "repository": connect(self.repository_id),
            "folder": connect(folder_id),
            "template": connect(self.template_id),
            "state": connect(self.case_state_id),
            "tags": {"connectOrCreate": convert.tag_ops([*case.tags, convert.MARKER_PREFIX + marker])},
        }
        if case.steps:
            data["steps"] = {"create": [convert.step_to_native(s, i) for i, s in enumerate(case.steps)]}
        if case.requirements:
            data["issues"] = {"connect": [{"id": i} for i in self._issue_ids(case.requirements).values()]}
        row = self.client.create("repositoryCases", {"data": data, "include": CASE_INCLUDE})
        return convert.case_from_native(row, self._paths())

    def update_case(self, case_id: str, case: Case) -> Case:
        problems = self.check_case(case)
        if problems:
            raise CannotRepresent(problems)
        current = self._find_case({"id": int(case_id)}) if case_id.isdigit() else None
        if current is None:
            raise NotFound(f"case {case_id} not found", system=self.name)
        folder_id = int(self.ensure_folder(case.folder))
        data: dict[str, Any] = {**convert.case_scalars(case), "folder": connect(folder_id)}
        steps = self._step_ops(current.get("steps") or [], case)
        if steps:
            data["steps"] = steps
        have = {t["name"] for t in current.get("tags") or [] if not t["name"].startswith(convert.MARKER_PREFIX)}
        want = set(case.tags)
        tags: dict[str, Any] = {}
        if have - want:
            tags["disconnect"] = [{"name": n} for n in sorted(have - want)]
        if want - have:
            tags["connectOrCreate"] = convert.tag_ops(want - have)
        if tags:
            data["tags"] = tags
        have_issues = {i["name"]: i["id"] for i in current.get("issues") or []}
        if set(have_issues) != set(case.requirements):
            wanted = self._issue_ids(case.requirements) if case.requirements else {}
            data["issues"] = {"set": [{"id": i} for i in wanted.values()]}
        row = self.client.update(
            "repositoryCases", {"where": {"id": int(case_id)}, "data": data, "include": CASE_INCLUDE}
        )
        return convert.case_from_native(row, self._paths())

    def _step_ops(self, live: list[dict[str, Any]], case: Case) -> dict[str, Any]:
        """Nested step writes: rewrite changed steps in place, add new ones, soft-delete the surplus.

        In-place updates keep step ids (step results refer to them); the surplus is soft-deleted by id, so no
        live orphan remains whatever order the server applies the nested operations in.
        """
        live = sorted(live, key=lambda r: (r.get("order", 0), r["id"]))
        ops: dict[str, Any] = {}
        updates = []
        for i, (row, step) in enumerate(zip(live, case.steps, strict=False)):
            same = convert.steps_from_native([row]) == [step] and row.get("order") == i
            if not same:
                updates.append({"where": {"id": row["id"]}, "data": convert.step_to_native(step, i)})
        if updates:
            ops["update"] = updates
        if len(case.steps) > len(live):
            ops["create"] = [convert.step_to_native(s, i) for i, s in enumerate(case.steps) if i >= len(live)]
        surplus = [r["id"] for r in live[len(case.steps) :]]
        if surplus:
            ops["updateMany"] = {"where": {"id": {"in": surplus}}, "data": {"isDeleted": True}}
        return ops

    def delete_case(self, case_id: str) -> None:
        if not case_id.isdigit():
            raise NotFound(f"case {case_id} not found", system=self.name)
        # soft delete, as the UI does (the row stays for history; every read filters isDeleted)
        self.client.update(
            "repositoryCases", {"where": {"id": int(case_id)}, "data": {"isDeleted": True}, "select": {"id": True}}
        )

    def _issue_ids(self, names: Sequence[str]) -> dict[str, int]:
        """Issue (requirement) ids by name in the project, creating the missing ones."""
        with self._lock:
            found = self._issues
            unknown = [n for n in dict.fromkeys(names) if n not in found]
            rows = (
                self.client.read(
                    "issue",
                    "findMany",
                    {
                        "where": {"projectId": self.project_id, "name": {"in": unknown}, "isDeleted": False},
                        "select": {"id": True, "name": True},
                        "orderBy": {"id": "asc"},
                    },
                )
                if unknown
                else []
            )
            for r in rows or []:
                found.setdefault(r["name"], r["id"])
            for name in names:
                if name not in found:
                    created = self.client.create(
                        "issue",
                        {
                            "data": {
                                "name": name,
                                "title": name,
                                "externalKey": name,
                                "createdBy": connect(self.user_id),
                                "project": connect(self.project_id),
                            },
                            "select": {"id": True},
                        },
                    )
                    found[name] = created["id"]
            return {n: found[n] for n in names}

    # ---------------------------------------------------------------------------------------------- plans
    def _milestone_names(self) -> dict[int, str]:
        with self._lock:
            if self._milestones is None:
                rows = self.client.read(
                    "milestones",
                    "findMany",
                    {"where": {"projectId": self.project_id, "isDeleted": False}, "select": {"id": True, "name": True}},
                )
                self._milestones = {r["id"]: r["name"] for r in rows or []}
            return self._milestones

    def _milestone_id(self, name: str) -> int:
        with self._lock:
            names = self._milestone_names()
            found = next((mid for mid, n in sorted(names.items()) if n == name), None)
            if found is not None:
                return found
            mtype = self.client.read(
                "milestoneTypes",
                "findFirst",
                {"where": {"isDeleted": False}, "orderBy": [{"isDefault": "desc"}, {"id": "asc"}]},
            )
            if not mtype:
                raise NotFound("no milestone type to create a milestone with", system=self.name)
            row = self.client.create(
                "milestones",
                {
                    "data": {
                        "name": name,
                        "project": connect(self.project_id),
                        "milestoneType": connect(mtype["id"]),
                        "creator": connect(self.user_id),
                    },
                    "select": {"id": True, "name": True},
                },
            )
            names[row["id"]] = row["name"]
            return int(row["id"])

    def _plan_scope(self, **extra: Any) -> dict[str, Any]:
        return {"projectId": self.project_id, "isDeleted": False, **extra}

    def iter_plans(self) -> Iterator[Plan]:
        milestones = self._milestone_names()
        for page in self.client.pages(
            "testRuns", {"where": self._plan_scope(), "include": PLAN_INCLUDE}, page_size=PAGE_SIZE // 5
        ):
            for row in page:
                yield convert.plan_from_native(row, milestones)

    def _find_plan(self, where: dict[str, Any]) -> dict[str, Any] | None:
        row = self.client.read("testRuns", "findFirst", {"where": self._plan_scope(**where), "include": PLAN_INCLUDE})
        return dict(row) if row else None

    def get_plan(self, plan_id: str) -> Plan | None:
        row = self._find_plan({"id": int(plan_id)}) if plan_id.isdigit() else None
        return convert.plan_from_native(row, self._milestone_names()) if row else None

    def find_plan_by_marker(self, marker: str) -> Plan | None:
        row = self._find_plan(has_marker(marker))
        return convert.plan_from_native(row, self._milestone_names()) if row else None

    def check_plan(self, plan: Plan) -> list[Unrepresentable]:
        ref = plan.id or plan.name
        problems = []
        for field_name in ("start_date", "end_date", "owner"):
            value = getattr(plan, field_name)
            if value is not None:
                problems.append(Unrepresentable("plan", ref, field_name, "test runs have no such field", value))
        if len(plan.runs) > 1:
            problems.append(Unrepresentable("plan", ref, "runs", f"{len(plan.runs)} runs; a test run is one run"))
        for run in plan.runs:
            if run.configuration:
                problems.append(Unrepresentable("plan", ref, "runs.configuration", "not supported", run.configuration))
        for cid in plan.case_ids():
            if not cid.isdigit():
                problems.append(Unrepresentable("plan", ref, "runs.case_ids", "not a TestPlanIt case id", cid))
        return problems

    def _plan_data(self, plan: Plan) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": plan.name,
            # Prisma refuses a plain null for a Json column; an empty document reads back as "" all the same
            "note": richtext.from_canonical(plan.description),
            "isCompleted": plan.state == PlanState.COMPLETED,
        }
        data["completedAt"] = datetime.now(UTC).isoformat() if data["isCompleted"] else None
        return data

    def create_plan(self, plan: Plan, *, marker: str) -> Plan:
        problems = self.check_plan(plan)
        if problems:
            raise CannotRepresent(problems)
        data = self._plan_data(plan)
        data.update(
            project=connect(self.project_id),
            state=connect(self.run_state_id),
            tags={"connectOrCreate": convert.tag_ops([convert.MARKER_PREFIX + marker])},
        )
        if plan.milestone:
            data["milestone"] = connect(self._milestone_id(plan.milestone))
        case_ids = sorted(plan.case_ids(), key=int)
        if case_ids:
            rows = [{"repositoryCaseId": int(c), "order": i} for i, c in enumerate(case_ids)]
            data["testCases"] = {"createMany": {"data": rows}}
        row = self.client.create("testRuns", {"data": data, "include": PLAN_INCLUDE})
        return convert.plan_from_native(row, self._milestone_names())

    def update_plan(self, plan_id: str, plan: Plan) -> Plan:
        problems = self.check_plan(plan)
        if problems:
            raise CannotRepresent(problems)
        current = self._find_plan({"id": int(plan_id)}) if plan_id.isdigit() else None
        if current is None:
            raise NotFound(f"plan {plan_id} not found", system=self.name)
        data = self._plan_data(plan)
        if current.get("isCompleted") and data["isCompleted"]:
            data.pop("completedAt")  # keep the original completion time
        data["milestone"] = connect(self._milestone_id(plan.milestone)) if plan.milestone else {"disconnect": True}
        have = {str(c["repositoryCaseId"]) for c in current.get("testCases") or []}
        want = plan.case_ids()
        cases: dict[str, Any] = {}
        if want - have:
            start = len(have)
            add = sorted(want - have, key=int)
            cases["createMany"] = {
                "data": [{"repositoryCaseId": int(c), "order": start + i} for i, c in enumerate(add)]
            }
        if have - want:
            # run cases have no soft delete; removing one drops its results too, as in the UI
            cases["deleteMany"] = {"repositoryCaseId": {"in": sorted(int(c) for c in have - want)}}
        if cases:
            data["testCases"] = cases
        row = self.client.update("testRuns", {"where": {"id": int(plan_id)}, "data": data, "include": PLAN_INCLUDE})
        return convert.plan_from_native(row, self._milestone_names())

    def delete_plan(self, plan_id: str) -> None:
        if not plan_id.isdigit():
            raise NotFound(f"plan {plan_id} not found", system=self.name)
        self.client.update(
            "testRuns", {"where": {"id": int(plan_id)}, "data": {"isDeleted": True}, "select": {"id": True}}
        )

    # -------------------------------------------------------------------------------------------- results
    def normal_status(self, status_id: int) -> Status:
        row = next((s for s in self.statuses if s["id"] == status_id), None)
        if row is None:
            return Status.UNTESTED
        names = [row["systemName"], *[a.strip() for a in (row.get("aliases") or "").split(",") if a.strip()]]
        for name in names:
            normal = self.value_maps.normal("status", name)
            if normal:
                return Status(normal)
        # a custom status nobody mapped: its flags say what it means
        return Status.PASSED if row.get("isSuccess") else Status.FAILED if row.get("isFailure") else Status.UNTESTED

    def native_status(self, status: Status) -> dict[str, Any]:
        native = self.value_maps.native("status", status.value)
        for row in self.statuses:
            aliases = [a.strip() for a in (row.get("aliases") or "").split(",")]
            if native and (row["systemName"] == native or native in aliases):
                return row
        raise CannotRepresent(
            [Unrepresentable("result", "", "status", f"no enabled TestPlanIt status for {status.value!r}", status)]
        )

    def iter_results(self, *, plan_id: str | None = None, since: datetime | None = None) -> Iterator[Result]:
        where: dict[str, Any] = {"isDeleted": False}
        if plan_id is not None:
            where["testRunId"] = int(plan_id)
        else:
            where["testRun"] = {"projectId": self.project_id, "isDeleted": False}
        if since is not None:
            stamp = since if since.tzinfo else since.replace(tzinfo=UTC)
            where["executedAt"] = {"gte": stamp.astimezone(UTC).isoformat().replace("+00:00", "Z")}
        for page in self.client.pages(
            "testRunResults", {"where": where, "include": RESULT_INCLUDE}, page_size=PAGE_SIZE
        ):
            for row in page:
                yield convert.result_from_native(row, self.normal_status(row["statusId"]))

    def add_results(self, results: Sequence[Result]) -> list[Result]:
        """Store results with createMany (one request for the batch) and read their ids back.

        createMany answers only a count, so the ids come from one read of our own rows newer than the highest
        id before the write, matched in order (one INSERT numbers its rows in order). Results with defects need
        the issue links, which createMany cannot write: those go one create each. ``result.marker`` is not
        stored (results have no field the bridge can own and query cheaply).
        """
        if not results:
            return []
        for r in results:
            if not r.plan_id or not r.plan_id.isdigit() or not r.case_id.isdigit():
                raise ValidationFailed(f"result for case {r.case_id!r} needs a TestPlanIt plan_id", system=self.name)
        statuses = [self.native_status(r.status) for r in results]
        run_case = self._run_cases({(int(r.plan_id), int(r.case_id)) for r in results})  # type: ignore[arg-type]
        last = self.client.read("testRunResults", "findFirst", {"orderBy": {"id": "desc"}, "select": {"id": True}})
        last_id = last["id"] if last else 0
        rows: list[dict[str, Any]] = []
        for r, status in zip(results, statuses, strict=True):
            row: dict[str, Any] = {
                "testRunId": int(r.plan_id),  # type: ignore[arg-type]
                "testRunCaseId": run_case[(int(r.plan_id), int(r.case_id))],  # type: ignore[arg-type]
                "statusId": status["id"],
                "executedById": self.user_id,
            }
            if r.elapsed_seconds is not None:
                row["elapsed"] = round(r.elapsed_seconds)  # whole seconds, as the UI shows them
            if r.comment:
                row["notes"] = richtext.from_canonical(r.comment)
            if r.executed_at is not None:
                stamp = r.executed_at if r.executed_at.tzinfo else r.executed_at.replace(tzinfo=UTC)
                row["executedAt"] = stamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
            rows.append(row)
        ids: dict[int, int] = {}
        bulk = [i for i, r in enumerate(results) if not r.defects]
        if bulk:
            self.client.create("testRunResults", {"data": [rows[i] for i in bulk]}, op="createMany")
            stored = self.client.read(
                "testRunResults",
                "findMany",
                {
                    "where": {
                        "id": {"gt": last_id},
                        "executedById": self.user_id,
                        "testRunCaseId": {"in": sorted({rows[i]["testRunCaseId"] for i in bulk})},
                    },
                    "orderBy": {"id": "asc"},
                    "select": {"id": True, "testRunCaseId": True, "statusId": True},
                },
            )
            pending = list(bulk)
            for got in stored or []:
                if pending and (got["testRunCaseId"], got["statusId"]) == (
                    rows[pending[0]]["testRunCaseId"],
                    rows[pending[0]]["statusId"],
                ):
                    ids[pending.pop(0)] = got["id"]
            if pending:
                raise ValidationFailed(f"{len(pending)} results were not found after createMany", system=self.name)
        for i, r in enumerate(results):
            if r.defects:
                issue_ids = self._issue_ids(r.defects)
                data = {
                    k: v
                    for k, v in rows[i].items()
                    if k not in ("testRunId", "testRunCaseId", "statusId", "executedById")
                }
                data.update(
                    testRun=connect(rows[i]["testRunId"]),
                    testRunCase=connect(rows[i]["testRunCaseId"]),
                    status=connect(rows[i]["statusId"]),
                    issues={"connect": [{"id": n} for n in issue_ids.values()]},
                )
                ids[i] = self.client.create("testRunResults", {"data": data, "select": {"id": True}})["id"]
        self._set_latest_status(rows, statuses)
        return [r.model_copy(update={"id": str(ids[i])}) for i, r in enumerate(results)]

    def _run_cases(self, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """testRunCases ids for (run, case) pairs, adding the cases a run does not hold yet."""

        def read() -> dict[tuple[int, int], int]:
            rows = self.client.read(
                "testRunCases",
                "findMany",
                {
                    "where": {
                        "testRunId": {"in": sorted({p[0] for p in pairs})},
                        "repositoryCaseId": {"in": sorted({p[1] for p in pairs})},
                    },
                    "select": {"id": True, "testRunId": True, "repositoryCaseId": True},
                },
            )
            return {(r["testRunId"], r["repositoryCaseId"]): r["id"] for r in rows or []}

        found = read()
        missing = sorted(pairs - set(found))
        if missing:
            self.client.create(
                "testRunCases",
                {
                    "data": [{"testRunId": run, "repositoryCaseId": case} for run, case in missing],
                    "skipDuplicates": True,
                },
                op="createMany",
            )
            found = read()
        return found

    def _set_latest_status(self, rows: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> None:
        """The run case shows its latest result's status (as the UI sets it): one updateMany per status."""
        latest: dict[int, dict[str, Any]] = {}
        for row, status in zip(rows, statuses, strict=True):
            latest[row["testRunCaseId"]] = status
        groups: dict[int, list[int]] = defaultdict(list)
        for run_case_id, status in latest.items():
            groups[status["id"]].append(run_case_id)
        for status_id, run_case_ids in sorted(groups.items()):
            status = next(s for s in self.statuses if s["id"] == status_id)
            self.client.update(
                "testRunCases",
                {
                    "where": {"id": {"in": sorted(run_case_ids)}},
                    "data": {"statusId": status_id, "isCompleted": bool(status.get("isCompleted"))},
                },
                op="updateMany",
                idempotent=True,
            )
