"""TestPlanIt adapter over the real server's model API (0.11.x). Mapping decisions: see convert.py and fields.py."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.base import Adapter, Capabilities, CheckedCase, FieldLimits, SystemSettings, check_limits
from adapters.testplanit import convert, fields, richtext
from adapters.testplanit.client import TestPlanItClient
from adapters.testplanit.folders import FolderTree
from adapters.testplanit.project import States, Templates, choose_template, project_states
from adapters.testplanit.query import CASE_INCLUDE, PLAN_INCLUDE, case_scope, connect, has_marker
from adapters.testplanit.results import ResultsMixin
from adapters.testplanit.settings import TestPlanItSettings
from bridge.errors import AuthError, CannotRepresent, NotFound, Unrepresentable
from bridge.model import Case, Entity, Folder, Plan, PlanState
from mappings.valuemaps import ValueMaps

PAGE_SIZE = 500
#: what every project holds; description, preconditions, priority, type and custom fields come with the
#: project's template (connect narrows or widens per project)
BASE_CASE_FIELDS = frozenset({"folder", "title", "steps", "tags", "automation_key", "estimate_seconds", "requirements"})


class TestPlanItAdapter(ResultsMixin, Adapter):
    __test__ = False
    kind = "testplanit"
    capabilities: ClassVar[Capabilities] = Capabilities(
        entities=frozenset(Entity),
        incremental_cases=False,  # no updatedAt on cases: change detection compares content hashes
        trustworthy_timestamps=False,
        read_results=True,
        plan_runs=False,
        limits=FieldLimits(),
        case_fields=BASE_CASE_FIELDS,
        # a plan is a test run: no dates, no owner
        plan_fields=frozenset({"name", "description", "milestone", "state"}),
    )

    def __init__(self, name: str, settings: SystemSettings, value_maps: ValueMaps) -> None:
        super().__init__(name, settings, value_maps)
        assert isinstance(settings, TestPlanItSettings)
        self.tpi_settings = settings
        self._client: TestPlanItClient | None = None
        self._lock = threading.RLock()
        self._tree: FolderTree | None = None
        self._milestones: dict[int, str] | None = None
        # issue (requirement) name -> id, filled as names are resolved: a migration links the same few
        # requirements to thousands of cases, and one lookup per case was a fifth of all its requests.
        # Lives as long as the adapter (one run); an issue renamed meanwhile is found again next run.
        self._issues: dict[str, int] = {}
        self.user_id = ""
        self.project_id = 0
        self.repository_id = 0
        self.templates = Templates(0, None, {})
        #: the fields of each template assigned to the project, in normalized terms (a case is read and
        #: written with its own template's); new cases get ``self.templates.chosen_id``'s
        self.field_maps: dict[int, fields.FieldMap] = {}
        self._case_templates: dict[str, int] = {}  # case id -> template id, as last read
        self.states = States(0, 0, None, {})
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
        self._tree = FolderTree(self.client, self.project_id, self.repository_id)
        self.templates = choose_template(self.client, self.project_id, settings.template, system=self.name)
        source = f"systems.{self.name}."
        self.field_maps = {
            tid: fields.FieldMap.build(
                t, settings.case_fields if tid == self.templates.chosen_id else {}, source=source
            )
            for tid, t in self.templates.assigned.items()
        }
        self.states = project_states(self.client, self.project_id, system=self.name)
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
        chosen = self.field_map()
        held = set(chosen.standard) | ({"custom"} if chosen.custom else set()) if chosen else set()
        # an instance attribute: what this project's template holds is what jobs merge with this side
        self.capabilities = dataclasses.replace(  # type: ignore[misc]
            self.capabilities, case_fields=BASE_CASE_FIELDS | held
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def describe(self) -> str:
        text = f"{self.name} (testplanit project {self.project_id or self.tpi_settings.project} at {self.settings.url}"
        chosen = self.templates.chosen
        return text + (f", template {chosen.name!r})" if chosen else ", no template assigned)")

    def field_map(self, template_id: int | None = None) -> fields.FieldMap | None:
        """The fields of ``template_id`` (default: the template new cases get), None when not assigned."""
        return self.field_maps.get(self.templates.chosen_id if template_id is None else template_id)

    # -------------------------------------------------------------------------------------------- folders
    @property
    def tree(self) -> FolderTree:
        if self._tree is None:
            raise RuntimeError("call connect() first")
        return self._tree

    def iter_folders(self) -> Iterator[Folder]:
        yield from self.tree.folders()

    def ensure_folder(self, path: Sequence[str]) -> str:
        return str(self.tree.ensure(path))

    def _case_folder(self, case: Case) -> int:
        # every case sits in a folder: one that has none goes to a top-level folder of its own
        return self.tree.ensure(case.folder or (self.tpi_settings.unfiled_folder,))

    # ---------------------------------------------------------------------------------------------- cases
    def _to_case(self, row: dict[str, Any], paths: dict[int, tuple[str, ...]]) -> Case:
        self._case_templates[str(row["id"])] = int(row["templateId"])
        fmap = self.field_map(row.get("templateId"))
        values = fields.read_case_values(fmap, row.get("caseFieldValues") or [], self.value_maps) if fmap else None
        return convert.case_from_native(row, paths, values)

    def iter_cases(self, *, since: datetime | None = None) -> Iterator[Case]:
        # no updatedAt on the server: every read is full; the engine compares content hashes
        paths = self.tree.paths()
        args = {"where": case_scope(self.project_id, self.repository_id), "include": CASE_INCLUDE}
        # (chain lets go of each page once through it: one page of rows alive at a time, see client.pages)
        for row in itertools.chain.from_iterable(self.client.pages("repositoryCases", args, page_size=PAGE_SIZE)):
            yield self._to_case(row, paths)

    def _find_case(self, where: dict[str, Any], *, live: bool = True) -> dict[str, Any] | None:
        scope = case_scope(self.project_id, self.repository_id)
        if not live:  # soft-deleted and archived rows too (restoring one)
            scope = {k: v for k, v in scope.items() if k not in ("isDeleted", "isArchived")}
        row = self.client.read("repositoryCases", "findFirst", {"where": {**scope, **where}, "include": CASE_INCLUDE})
        return dict(row) if row else None

    def get_case(self, case_id: str) -> Case | None:
        if not case_id.isdigit():
            return None
        row = self._find_case({"id": int(case_id)})
        return self._to_case(row, self.tree.paths()) if row else None

    def find_case_by_marker(self, marker: str) -> Case | None:
        row = self._find_case(has_marker(marker))
        return self._to_case(row, self.tree.paths()) if row else None

    def check_case(self, case: Case) -> list[Unrepresentable]:
        return self.inspect_case(case).problems

    def inspect_case(self, case: Case) -> CheckedCase:
        # a case read from this side is checked against its own template's fields, a new one against the
        # template new cases get; the template values worked out are kept for a create (create_checked)
        template_id = self._case_templates.get(case.id) if case.id else None
        fmap = self.field_map(template_id)
        ref = case.id or case.title
        wanted = fields.wanted_values(fmap, case, self.value_maps, ref) if fmap is not None else None
        return CheckedCase(case, self._problems(case, fmap, ref, wanted=wanted), (fmap, wanted))

    def _problems(
        self,
        case: Case,
        fmap: fields.FieldMap | None,
        ref: str,
        stored: dict[int, Any] | None = None,
        *,
        wanted: tuple[dict[int, Any], list[Unrepresentable]] | None = None,
    ) -> list[Unrepresentable]:
        """What of ``case`` the template ``fmap`` cannot hold. ``stored``: field id -> value the case has now
        (a required field not being written keeps its value). ``wanted``: ``fields.wanted_values`` of ``case``
        in ``fmap`` with this ``ref``, when the caller has it."""
        problems = check_limits(case, self.capabilities.limits)
        problems += self._unheld(case, fmap, ref)
        if fmap is not None:
            values, wrong = wanted if wanted is not None else fields.wanted_values(fmap, case, self.value_maps, ref)
            problems += wrong + fields.missing_required(fmap, values, ref, stored=stored)[1]
        for tag in case.tags:
            if tag.startswith(convert.MARKER_PREFIX):
                problems.append(
                    Unrepresentable("case", ref, "tags", f"prefix {convert.MARKER_PREFIX!r} is reserved", tag)
                )
        if case.estimate_seconds is not None and case.estimate_seconds < 0:
            problems.append(Unrepresentable("case", ref, "estimate_seconds", "negative", case.estimate_seconds))
        return problems

    def _unheld(self, case: Case, fmap: fields.FieldMap | None, ref: str) -> list[Unrepresentable]:
        """Non-empty description, preconditions, priority, type (and custom values) the template has no field for."""
        template = fmap.template.name if fmap else None
        why = (
            f"template {template!r} has no field for it (name one in systems.{self.name}.case_fields)"
            if template
            else "the project has no case template assigned, so it holds no template fields"
        )
        problems = []
        for name in fields.STANDARD:
            value = getattr(case, name)
            if value not in (None, "") and (fmap is None or name not in fmap.standard):
                problems.append(Unrepresentable("case", ref, name, why, value))
        if fmap is None and any(v not in (None, "", []) for v in case.custom.values()):
            problems.append(Unrepresentable("case", ref, "custom", why, case.custom))
        return problems

    def create_case(self, case: Case, *, marker: str) -> Case:
        return self.create_checked(self.inspect_case(case), marker=marker)

    def create_checked(self, checked: CheckedCase, *, marker: str) -> Case:
        if checked.problems:
            raise CannotRepresent(checked.problems)
        case = checked.case
        # the check's template values serve the create when the check was against the template new cases get
        # (they do not depend on the reference the problems name); else they are worked out for that one
        checked_map, wanted = checked.work or (None, None)
        fmap = self.field_map()
        if checked.work is None or checked_map is not fmap:
            ref = case.id or case.title
            wanted = fields.wanted_values(fmap, case, self.value_maps, ref) if fmap is not None else None
        data: dict[str, Any] = {
            **convert.case_scalars(case),
            "source": "API",
            "automated": case.automation_key is not None,
            "project": connect(self.project_id),
            "repository": connect(self.repository_id),
            "folder": connect(self._case_folder(case)),
            "template": connect(self.templates.chosen_id),
            "state": connect(self.states.case_default),
            "tags": {"connectOrCreate": convert.tag_ops([*case.tags, convert.MARKER_PREFIX + marker])},
        }
        if fmap is not None and wanted is not None:
            values = dict(wanted[0])
            values.update(fields.missing_required(fmap, values, case.title)[0])
            rows = [{"field": connect(fid), "value": v} for fid, v in values.items() if v is not None]
            if rows:  # the case and its values in one nested create, not a request per field
                data["caseFieldValues"] = {"create": rows}
        if case.steps:
            data["steps"] = {"create": [convert.step_to_native(s, i) for i, s in enumerate(case.steps)]}
        if case.requirements:
            data["issues"] = {"connect": [{"id": i} for i in self._issue_ids(case.requirements).values()]}
        row = self.client.create("repositoryCases", {"data": data, "include": CASE_INCLUDE})
        return self._to_case(row, self.tree.paths())

    def update_case(self, case_id: str, case: Case) -> Case:
        current = self._find_case({"id": int(case_id)}) if case_id.isdigit() else None
        if current is None:
            raise NotFound(f"case {case_id} not found", system=self.name)
        return self._write_case(current, case, {})

    def restore_case(self, case_id: str, case: Case, *, marker: str) -> Case | None:
        """Un-delete the soft-deleted (or archived) case and give it ``case``'s content, in one update.

        Creating it again would collide with the deleted row's unique key (400 P2002 on the real server) and
        leave a second row. Fields left unset on ``case`` (pydantic's ``model_fields_set``: the other side has
        no place for them) keep the deleted row's values. None when the row is gone for good.
        """
        current = self._find_case({"id": int(case_id)}, live=False) if case_id.isdigit() else None
        if current is None:
            return None
        old = self._to_case(current, self.tree.paths())
        kept = {name: getattr(old, name) for name in Case.content_fields() if name not in case.model_fields_set}
        custom = {**old.custom, **case.custom} if "custom" in case.model_fields_set else old.custom
        restored = Case.model_validate({**case.model_dump(), **kept, "custom": custom})
        stale = [t["name"] for t in current.get("tags") or [] if t["name"].startswith(convert.MARKER_PREFIX)]
        tags = {"connectOrCreate": convert.tag_ops([convert.MARKER_PREFIX + marker])}
        if stale:
            tags["disconnect"] = [{"name": n} for n in stale]
        return self._write_case(current, restored, {"isDeleted": False, "isArchived": False}, marker_tags=tags)

    def _write_case(
        self, current: dict[str, Any], case: Case, extra: dict[str, Any], *, marker_tags: dict[str, Any] | None = None
    ) -> Case:
        """One update of ``current`` (a row read with CASE_INCLUDE): scalars, folder, steps, tags, issues and
        field values, the values by row id (the server has no unique (case, field) to upsert on)."""
        ref = str(current["id"])
        fmap = self.field_map(current.get("templateId"))
        rows = current.get("caseFieldValues") or []
        stored = {fid: row.get("value") for fid, row in fields.first_rows(rows).items()}
        problems = self._problems(case, fmap, ref, stored)
        if problems:
            raise CannotRepresent(problems)
        value_ops = self._value_ops(fmap, case, rows, ref) if fmap is not None else {}
        data: dict[str, Any] = {**convert.case_scalars(case), "folder": connect(self._case_folder(case)), **extra}
        steps = self._step_ops(current.get("steps") or [], case)
        if steps:
            data["steps"] = steps
        if value_ops:
            data["caseFieldValues"] = value_ops
        have = {t["name"] for t in current.get("tags") or [] if not t["name"].startswith(convert.MARKER_PREFIX)}
        want = set(case.tags)
        tags: dict[str, Any] = dict(marker_tags or {})
        if have - want:
            tags["disconnect"] = [*tags.get("disconnect", []), *({"name": n} for n in sorted(have - want))]
        if want - have:
            tags["connectOrCreate"] = [*tags.get("connectOrCreate", []), *convert.tag_ops(want - have)]
        if tags:
            data["tags"] = tags
        have_issues = {i["name"]: i["id"] for i in current.get("issues") or []}
        if set(have_issues) != set(case.requirements):
            wanted = self._issue_ids(case.requirements) if case.requirements else {}
            data["issues"] = {"set": [{"id": i} for i in wanted.values()]}
        row = self.client.update(
            "repositoryCases", {"where": {"id": current["id"]}, "data": data, "include": CASE_INCLUDE}
        )
        return self._to_case(row, self.tree.paths())

    def _value_ops(self, fmap: fields.FieldMap, case: Case, rows: list[dict[str, Any]], ref: str) -> dict[str, Any]:
        """Nested caseFieldValues writes for the fields whose value changes: the existing row updated by id,
        a missing row created (never a request per field)."""
        stored = fields.first_rows(rows)
        values, _ = fields.wanted_values(fmap, case, self.value_maps, ref)
        by_id = fmap.by_id()
        updates, creates = [], []
        for fid, value in values.items():
            row = stored.get(fid)
            if row is not None:
                key, f = by_id[fid]
                # compared as the UI shows them: a re-serialized document is no change
                if not fields.same_value(key, f, row.get("value"), value, self.value_maps):
                    updates.append({"where": {"id": row["id"]}, "data": {"value": value}})
            elif value is not None:
                creates.append({"field": connect(fid), "value": value})
        ops: dict[str, Any] = {}
        if updates:
            ops["update"] = updates
        if creates:
            ops["create"] = creates
        return ops

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

    def _plan_data(self, plan: Plan, current_state: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": plan.name,
            # the editor's empty document rather than null: the UI shows an empty note either way
            "note": richtext.from_canonical(plan.description),
            "isCompleted": plan.state == PlanState.COMPLETED,
        }
        data["completedAt"] = datetime.now(UTC).isoformat() if data["isCompleted"] else None
        state = self._run_state(data["isCompleted"], current_state)
        if state is not None and state != current_state:
            data["state"] = connect(state)
        return data

    def _run_state(self, completed: bool, current: int | None) -> int | None:
        """The workflow state a run should be in: completing one sets a DONE-type state of the project (as the
        UI's complete dialog does); reopening a run that is in a DONE state puts it back to the default.
        A run's other states (In Progress, Under Review) are people's to set and are left alone."""
        states = self.states
        in_done = current is not None and states.run_types.get(current) == "DONE"
        if completed:
            return current if in_done else states.run_done
        if current is None or in_done:
            return states.run_default
        return current

    def create_plan(self, plan: Plan, *, marker: str) -> Plan:
        problems = self.check_plan(plan)
        if problems:
            raise CannotRepresent(problems)
        data = self._plan_data(plan)
        data.setdefault("state", connect(self.states.run_default))
        data.update(
            project=connect(self.project_id),
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
        data = self._plan_data(plan, current.get("stateId"))
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
