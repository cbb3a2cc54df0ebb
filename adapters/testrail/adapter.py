"""The TestRail adapter: one project (and suite) of a TestRail server as the bridge's normalized records.

Scope: ``settings.project`` (id or exact name) and ``settings.suite_id`` (required when the project has
multiple suites, suite_mode 3; single-suite projects use their only/master suite).

Mapping (details in :mod:`adapters.testrail.convert`):

- folder = section path from the root; ``ensure_folder`` adds the missing sections with ``parent_id``;
- case tags = the case's labels (TestRail 9+; titles of at most 20 characters). ``connect()`` asks
  ``get_labels``: a server that does not know the method (older TestRail) holds no tags, which is said once
  when connecting, and the job leaves tags alone on that side;
- case marker = custom case field ``custom_tpb_marker`` (string). It is the one field the bridge can own:
  TestRail has no hidden metadata on cases. ``connect()`` fails naming the field when the project lacks it;
- plan marker = a final ``[tpb:<marker>]`` line in the plan description (plans have no custom fields);
  reads strip it so it is never content;
- plan runs = the runs of the plan's entries (name, configuration names, case ids from ``get_tests``);
  writes put runs without configuration in an entry each (``include_all: false, case_ids``) and group runs
  with configurations by name into one entry with a run per configuration combination;
- results are posted with ``add_results_for_cases`` per run in batches of :data:`RESULT_BATCH`;
  results whose status has no mapping (custom statuses 6-12 by default) are not guessed: they are left out of
  reads and listed in :attr:`TestRailAdapter.unrepresentable_results`.

Full reads are paged; plans need one ``get_plan`` per plan (``get_plans`` omits entries) and one
``get_tests`` per run for its case ids.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, ClassVar

from adapters.base import Adapter, Capabilities, FieldLimits, check_limits
from adapters.testrail import convert
from adapters.testrail.client import TestRailClient
from adapters.testrail.settings import TestRailSettings
from bridge.errors import (
    CannotRepresent,
    ConfigError,
    MissingRoute,
    NotFound,
    NotSent,
    RemoteError,
    Unrepresentable,
    ValidationFailed,
    reported,
)
from bridge.model import Case, Entity, Folder, Plan, PlanRun, PlanState, Result
from bridge.overlap import LazyMapping

log = logging.getLogger("adapters.testrail")

#: results per add_results_for_cases request. TestRail documents no maximum; 250 matches its page size and
#: keeps a request well under the server's body limits even with long comments (trcli sends 50).
RESULT_BATCH = 250
#: result batches posted at once: 8 post a CI run of 2,000 results in one round trip instead of two (trcli
#: posts up to 10 at once). TestRail Cloud limits requests per minute (kept by the HTTP client's pacer where
#: ``requests_per_minute`` is set), not how many are open: more at once sends no more requests
RESULT_POSTERS = 8
LIMITS = FieldLimits(title=250, tag_length=20)  # a label title: at most 20 characters
NO_LABEL_LIMITS = FieldLimits(title=250)
REFS_LIMIT = 2000  # TestRail 7.3+ (older servers: 250)
STRING_LIMIT = 250  # custom String fields
_TOLD_NO_LABELS: set[str] = set()  # servers already said to have no labels (see _server_has_labels)
_TOLD_LOCK = threading.Lock()


class TestRailAdapter(Adapter):
    __test__ = False
    kind: ClassVar[str] = "testrail"
    capabilities: ClassVar[Capabilities] = Capabilities(
        entities=frozenset({Entity.FOLDER, Entity.CASE, Entity.PLAN, Entity.RESULT}),
        incremental_cases=True,
        trustworthy_timestamps=True,
        read_results=True,
        plan_runs=True,
        limits=LIMITS,
        # tags are labels (TestRail 9+), description needs a custom_description field: connect() narrows
        # this per server and project
        case_fields=frozenset(
            {"folder", "title", "description", "preconditions", "steps", "priority", "type", "automation_key"}
            | {"tags", "requirements", "estimate_seconds", "custom"}
        ),
        # plans have no dates and no settable owner
        plan_fields=frozenset({"name", "description", "milestone", "state"}),
    )
    settings: TestRailSettings

    def __init__(self, name: str, settings: Any, value_maps: Any) -> None:
        super().__init__(name, settings, value_maps)
        self._lock = threading.RLock()
        self._client: TestRailClient | None = None
        self.project_id = 0
        self.suite_id = 0
        self.custom_fields: dict[str, dict[str, Any]] = {}
        self.required_fields: list[str] = []
        self._sections: dict[int, dict[str, Any]] | None = None
        self._configs: dict[str, int] | None = None
        self._milestones: dict[int, str] | None = None
        self._users: dict[int, str] | None = None
        self._statuses: dict[int, str] | None = None
        self.unrepresentable_results: list[Unrepresentable] = []
        #: the server has labels (TestRail 9+): case tags are synced as labels
        self.has_labels = True

    # ------------------------------------------------------------------------------------ lifecycle
    @property
    def client(self) -> TestRailClient:
        if self._client is None:
            self._client = TestRailClient(self.settings)
        return self._client

    def connect(self) -> None:
        try:
            self._connect()
        except NotSent as exc:
            # reads that go out side by side: when the server refuses the key, the refusal of one may arrive
            # before the other is sent, which is then held back; the refusal is what to report
            raise reported(exc) from None

    def _connect(self) -> None:
        # The read that needs no project goes out with get_projects, the two that need its id together after
        # it: two round trips instead of five (the statuses are read when asked for). Answers are looked at
        # in the order they always were, so the first problem reported is the same.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="testrail-connect") as pool:
            fields_read = pool.submit(self.client.array, "get_case_fields")
            project = self._find_project()
            self.project_id = int(project["id"])
            labels_read = pool.submit(self._server_has_labels)
            self.suite_id = self._resolve_suite(project)
            fields = fields_read.result()
            with self._lock:
                self.custom_fields = {
                    f["system_name"]: f for f in fields if f.get("is_active", True) and self._applies(f)
                }
                self.required_fields = sorted(
                    name for name, f in self.custom_fields.items() if self._field_options(f).get("is_required")
                )
            if convert.MARKER_FIELD not in self.custom_fields:
                raise ConfigError(
                    f"TestRail project {project['name']!r} has no case field {convert.MARKER_FIELD!r}. The bridge "
                    "keeps its marker there (TestRail cases have no hidden metadata). Create it in Administration "
                    "> Customizations > Add Field: type String, system name 'tpb_marker', for this project."
                )
            if self.required_fields:
                log.warning(
                    "TestRail project requires case fields %s: cases without values for them will be refused",
                    ", ".join(self.required_fields),
                )
            self.has_labels = labels_read.result()
        lacking = set()
        if "custom_description" not in self.custom_fields:
            lacking.add("description")  # this project cannot hold descriptions, so jobs do not merge them
        if not self.has_labels:
            self._say_no_labels()
            lacking.add("tags")
        if lacking and self.capabilities.case_fields is not None:
            # an instance attribute: what this server and project hold
            self.capabilities = dataclasses.replace(  # type: ignore[misc]
                self.capabilities, case_fields=self.capabilities.case_fields - lacking
            )

    def _server_has_labels(self) -> bool:
        """Whether the server knows labels (TestRail 9+), asked once per connection.

        An older server does not know the method: it answers 404 (TestRail's "unknown method"), or on some
        versions 400 with "Unknown method". That is an answer, not a failure; any other error is raised.
        """
        try:
            self.client.get("get_labels", self.project_id, limit=1)
        except MissingRoute:
            return False
        except ValidationFailed as exc:
            if "unknown method" not in str(exc).lower():
                raise
            return False
        return True

    def _say_no_labels(self) -> None:
        with _TOLD_LOCK:
            first = self.settings.url not in _TOLD_NO_LABELS
            _TOLD_NO_LABELS.add(self.settings.url)
        # said once per server and process: a daemon connects on every run, and the job's summary already
        # lists tags among the fields this side cannot hold
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "TestRail at %s has no labels (they came with TestRail 9): case tags are not synced with it. "
            "Upgrade TestRail to sync tags as labels.",
            self.settings.url,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def describe(self) -> str:
        return f"{self.name} (testrail project {self.settings.project} suite {self.suite_id} at {self.settings.url})"

    def _find_project(self) -> dict[str, Any]:
        wanted = str(self.settings.project).strip()
        projects = self.client.all("get_projects", "projects")
        for p in projects:
            if str(p["id"]) == wanted or str(p["name"]).strip() == wanted:
                return p
        raise NotFound(
            f"no TestRail project {wanted!r} visible to this user",
            system="testrail",
            route="get_projects",
            hint=f"Known projects: {', '.join(str(p['name']) for p in projects[:20]) or 'none'}.",
        )

    def _resolve_suite(self, project: dict[str, Any]) -> int:
        suites = self.client.array("get_suites", project["id"])
        if self.settings.suite_id is not None:
            if not any(int(s["id"]) == self.settings.suite_id for s in suites):
                raise NotFound(
                    f"suite {self.settings.suite_id} is not in project {project['name']!r}",
                    system="testrail",
                    route="get_suites",
                )
            return self.settings.suite_id
        if project.get("suite_mode") == 3 and len(suites) != 1:
            raise ConfigError(
                f"TestRail project {project['name']!r} has several suites; set suite_id to one of: "
                + ", ".join(f"{s['id']} ({s['name']})" for s in suites)
            )
        master = [s for s in suites if s.get("is_master")] or suites
        if not master:
            raise NotFound(f"project {project['name']!r} has no suite", system="testrail", route="get_suites")
        return int(master[0]["id"])

    def _applies(self, field: dict[str, Any]) -> bool:
        for config in field.get("configs") or []:
            context = config.get("context") or {}
            if context.get("is_global") or self.project_id in (context.get("project_ids") or []):
                return True
        return False

    def _field_options(self, field: dict[str, Any]) -> dict[str, Any]:
        for config in field.get("configs") or []:
            context = config.get("context") or {}
            if context.get("is_global") or self.project_id in (context.get("project_ids") or []):
                return dict(config.get("options") or {})
        return {}

    # --------------------------------------------------------------------------------------- caches
    def _section_map(self, *, refresh: bool = False) -> dict[int, dict[str, Any]]:
        with self._lock:
            if self._sections is None or refresh:
                sections = self.client.all("get_sections", "sections", self.project_id, suite_id=self.suite_id)
                self._sections = {int(s["id"]): s for s in sections}
            return self._sections

    def _paths(self) -> dict[int, tuple[str, ...]]:
        return convert.section_paths(list(self._section_map().values()))

    @property
    def statuses(self) -> dict[int, str]:
        """The server's result statuses by id, custom ones included; read when first asked for, as nothing
        the bridge sends or reads needs them (the value maps name the status ids)."""
        with self._lock:
            if self._statuses is None:
                self._statuses = {
                    int(s["id"]): str(s.get("label") or s["name"]) for s in self.client.array("get_statuses")
                }
            return self._statuses

    def config_ids(self) -> dict[str, int]:
        with self._lock:
            if self._configs is None:
                self._configs = {
                    str(c["name"]): int(c["id"])
                    for g in self.client.array("get_configs", self.project_id)
                    for c in g.get("configs") or []
                }
            return self._configs

    def _config_names(self) -> LazyMapping[int, str]:
        """Configuration names by id, read when a run with configurations is met."""
        return LazyMapping(lambda: {v: k for k, v in self.config_ids().items()})

    def milestones(self) -> dict[int, str]:
        with self._lock:
            if self._milestones is None:
                items = self.client.all("get_milestones", "milestones", self.project_id)
                self._milestones = {int(m["id"]): str(m["name"]) for m in items}
            return self._milestones

    def users(self) -> dict[int, str]:
        with self._lock:
            if self._users is None:
                try:
                    items = self.client.all("get_users", "users", self.project_id)
                except (NotFound, ValidationFailed):  # older servers: get_users takes no project
                    items = self.client.all("get_users", "users")
                self._users = {int(u["id"]): str(u.get("email") or u.get("name")) for u in items}
            return self._users

    # -------------------------------------------------------------------------------------- folders
    def iter_folders(self) -> Iterator[Folder]:
        for sid, path in self._paths().items():
            yield Folder(id=str(sid), path=path)

    def ensure_folder(self, path: Sequence[str]) -> str:
        wanted_path = Folder(path=tuple(path)).path
        if not wanted_path:
            raise ValueError("TestRail cases live in a section: the folder path must not be empty")
        with self._lock:
            by_path = {p: sid for sid, p in self._paths().items()}
            parent: int | None = None
            for depth in range(1, len(wanted_path) + 1):
                prefix = wanted_path[:depth]
                if prefix in by_path:
                    parent = by_path[prefix]
                    continue
                body: dict[str, Any] = {"name": prefix[-1], "suite_id": self.suite_id}
                if parent is not None:
                    body["parent_id"] = parent
                section = self.client.post("add_section", self.project_id, body=body)
                sections = self._section_map()
                sections[int(section["id"])] = section
                by_path[prefix] = parent = int(section["id"])
            assert parent is not None
            return str(parent)

    # ---------------------------------------------------------------------------------------- cases
    def _case(self, raw: dict[str, Any], paths: dict[int, tuple[str, ...]] | None = None) -> Case:
        sid = int(raw["section_id"])
        paths = paths if paths is not None else self._paths()
        if sid not in paths:
            paths = convert.section_paths(list(self._section_map(refresh=True).values()))
        return convert.case_from_native(raw, paths.get(sid, ()), self.value_maps, custom_fields=self.custom_fields)

    def iter_cases(self, *, since: datetime | None = None) -> Iterator[Case]:
        filters: dict[str, Any] = {"suite_id": self.suite_id}
        if since is not None:
            # updated_after is strict; one second earlier keeps a change made in the same second
            filters["updated_after"] = int(since.timestamp()) - 1
        # adapters live for one run: the sections read (or created) earlier in it are current, and a case
        # in a section this run has not seen makes _case read them again
        paths = self._paths()
        # (chain lets go of each page once through it: one page of cases alive at a time, see client.pages)
        for raw in itertools.chain.from_iterable(self.client.pages("get_cases", "cases", self.project_id, **filters)):
            yield self._case(raw, paths)

    def iter_case_refs(self) -> Iterator[Case]:
        """Ids, titles, folders, automation keys and markers only: matching JUnit tests to cases needs no
        steps, and converting every case's HTML steps is most of a full read's time."""
        # the CI step changes nothing until it has every case: the pages can be asked for several at once, and
        # the sections read while the first ones come. Two pages go out first: a project a CI run reports on
        # rarely holds fewer than 250 cases, and 2,000 are then listed in 4 round trips instead of 5
        with self.client.pages_at_once("get_cases", "cases", self.project_id, first=2, suite_id=self.suite_id) as pages:
            paths, refreshed = self._paths(), False
            for page in pages:
                for raw in page:
                    if int(raw["section_id"]) not in paths and not refreshed:  # a section made since they were read
                        paths, refreshed = convert.section_paths(list(self._section_map(refresh=True).values())), True
                    yield Case(
                        id=str(raw["id"]),
                        title=str(raw.get("title") or ""),
                        folder=paths.get(int(raw["section_id"]), ()),
                        automation_key=convert.read_automation_id(raw.get(convert.AUTOMATION)),
                        marker=raw.get(convert.MARKER_FIELD) or None,
                    )

    def get_case(self, case_id: str) -> Case | None:
        try:
            raw = self.client.get("get_case", int(case_id))
        except NotFound:
            return None
        if raw.get("is_deleted"):
            return None
        return self._case(raw)

    def check_case(self, case: Case) -> list[Unrepresentable]:
        problems = check_limits(case, LIMITS if self.has_labels else NO_LABEL_LIMITS)
        _, more = convert.case_to_native(
            case, self.value_maps, custom_fields=self.custom_fields, labels=self.has_labels
        )
        problems += more
        ref = case.id or case.title
        if not case.folder:
            problems.append(Unrepresentable("case", ref, "folder", "TestRail cases must be in a section"))
        refs = ",".join(case.requirements)
        if len(refs) > REFS_LIMIT:
            problems.append(
                Unrepresentable("case", ref, "requirements", f"{len(refs)} characters, at most {REFS_LIMIT}")
            )
        if case.automation_key and len(case.automation_key) > STRING_LIMIT:
            problems.append(
                Unrepresentable("case", ref, "automation_key", f"{len(case.automation_key)} characters, at most 250")
            )
        return problems

    def _body(self, case: Case) -> dict[str, Any]:
        problems = self.check_case(case)
        if problems:
            raise CannotRepresent(problems)
        maps, fields = self.value_maps, self.custom_fields
        body, _ = convert.case_to_native(case, maps, custom_fields=fields, labels=self.has_labels)
        return body

    def create_case(self, case: Case, *, marker: str) -> Case:
        body = self._body(case)
        body[convert.MARKER_FIELD] = marker
        section_id = self.ensure_folder(case.folder)
        raw = self.client.post("add_case", int(section_id), body=body)
        return self._case(raw)

    def update_case(self, case_id: str, case: Case) -> Case:
        body = self._body(case)
        current = self.get_case(case_id)
        if current is None:
            raise NotFound(f"case {case_id} does not exist", system="testrail", route="update_case")
        if current.folder != case.folder:
            body["section_id"] = int(self.ensure_folder(case.folder))
        raw = self.client.post("update_case", int(case_id), body=body)
        return self._case(raw)

    def delete_case(self, case_id: str) -> None:
        self.client.post("delete_case", int(case_id))

    # ---------------------------------------------------------------------------------------- plans
    def _run_cases(self, run_ids: list[int]) -> dict[int, list[int]]:
        return {rid: sorted(int(t["case_id"]) for t in self.client.all("get_tests", "tests", rid)) for rid in run_ids}

    def _plan(self, raw: dict[str, Any], run_cases: dict[int, list[int]] | None = None) -> Plan:
        if run_cases is None:
            run_cases = self._run_cases([int(r["id"]) for e in raw.get("entries") or [] for r in e.get("runs") or []])
        return convert.plan_from_native(
            raw, run_cases=run_cases, config_names=self._config_names(), milestones=LazyMapping(self.milestones)
        )

    def iter_plans(self) -> Iterator[Plan]:
        for page in self.client.pages("get_plans", "plans", self.project_id):
            for summary in page:
                raw = self.client.get("get_plan", int(summary["id"]))
                yield self._plan(raw)

    def iter_plan_refs(self) -> Iterator[Plan]:
        # get_plans summaries carry name, state and description (with the marker) but no entries: one
        # request per 250 plans instead of a get_plan plus get_tests per run for every plan
        for page in self.client.pages("get_plans", "plans", self.project_id):
            for summary in page:
                yield convert.plan_from_native(summary, run_cases={}, config_names={}, milestones={})

    def get_plan(self, plan_id: str) -> Plan | None:
        try:
            raw = self.client.get("get_plan", int(plan_id))
        except NotFound:
            return None
        return self._plan(raw)

    def check_plan(self, plan: Plan) -> list[Unrepresentable]:
        milestones = LazyMapping(lambda: {name: mid for mid, name in self.milestones().items()})
        return convert.plan_problems(plan, config_ids=LazyMapping(self.config_ids), milestones=milestones)

    def _milestone_id(self, plan: Plan) -> int | None:
        if not plan.milestone:
            return None
        return {name: mid for mid, name in self.milestones().items()}[plan.milestone]

    def create_plan(self, plan: Plan, *, marker: str) -> Plan:
        problems = self.check_plan(plan)
        if problems:
            raise CannotRepresent(problems)
        entries = convert.entries_for(plan.runs, suite_id=self.suite_id, config_ids=LazyMapping(self.config_ids))
        body = {
            "name": plan.name,
            "description": convert.plan_description(plan.description, marker),
            "milestone_id": self._milestone_id(plan),
            "entries": entries,
        }
        raw = self.client.post("add_plan", self.project_id, body=body)
        if plan.state is PlanState.COMPLETED:
            raw = self.client.post("close_plan", int(raw["id"]))
        return self._plan(raw, _sent_run_cases(entries, raw))

    def update_plan(self, plan_id: str, plan: Plan) -> Plan:
        raw = self.client.get("get_plan", int(plan_id))
        problems = self.check_plan(plan)
        if raw.get("is_completed"):
            problems.append(
                Unrepresentable("plan", plan_id, "state", "the TestRail plan is closed; closed plans cannot change")
            )
        if problems:
            raise CannotRepresent(problems)
        _, marker = convert.split_plan_description(raw.get("description"))
        self.client.post(
            "update_plan",
            int(plan_id),
            body={
                "name": plan.name,
                "description": convert.plan_description(plan.description, marker),
                "milestone_id": self._milestone_id(plan),
            },
        )
        self._update_runs(int(plan_id), raw, plan.runs)
        if plan.state is PlanState.COMPLETED:
            self.client.post("close_plan", int(plan_id))
        return self._plan(self.client.get("get_plan", int(plan_id)))

    def _update_runs(self, plan_id: int, raw: dict[str, Any], wanted: list[PlanRun]) -> None:
        names = self._config_names()
        current: dict[tuple[str, tuple[str, ...]], tuple[dict[str, Any], dict[str, Any]]] = {}
        for entry in raw.get("entries") or []:
            for run in entry.get("runs") or []:
                key = (str(run["name"]), tuple(sorted(names.get(int(c), str(c)) for c in run.get("config_ids") or [])))
                current[key] = (entry, run)
        cases_now = self._run_cases([int(r["id"]) for _, r in current.values()])
        new_runs: list[PlanRun] = []
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for run in wanted:
            key = (run.name, tuple(sorted(run.configuration)))
            seen.add(key)
            if key not in current:
                new_runs.append(run)
                continue
            entry, native = current[key]
            ids = sorted(int(c) for c in run.case_ids)
            if ids == cases_now.get(int(native["id"])):
                continue
            body = {"include_all": False, "case_ids": ids}
            if len(entry["runs"]) == 1:
                self.client.post("update_plan_entry", plan_id, entry["id"], body=body)
            else:
                self.client.post("update_run_in_plan_entry", int(native["id"]), body=body)
        for key, (entry, native) in current.items():
            if key in seen:
                continue
            if len(entry["runs"]) == 1:
                self.client.post("delete_plan_entry", plan_id, entry["id"])
            else:
                self.client.post("delete_run_from_plan_entry", int(native["id"]))
                entry["runs"] = [r for r in entry["runs"] if r["id"] != native["id"]]
        entries = convert.entries_for(new_runs, suite_id=self.suite_id, config_ids=LazyMapping(self.config_ids))
        for entry_body in entries:
            self.client.post("add_plan_entry", plan_id, body=entry_body)

    def delete_plan(self, plan_id: str) -> None:
        self.client.post("delete_plan", int(plan_id))

    # -------------------------------------------------------------------------------------- results
    def _runs_in_scope(self, plan_id: str | None) -> list[tuple[int, int | None]]:
        """(run id, plan id) of the runs to read results from."""
        if plan_id is not None:
            raw = self.client.get("get_plan", int(plan_id))
            return [(int(r["id"]), int(plan_id)) for e in raw.get("entries") or [] for r in e.get("runs") or []]
        runs: list[tuple[int, int | None]] = []
        for page in self.client.pages("get_plans", "plans", self.project_id):
            for summary in page:
                runs += self._runs_in_scope(str(summary["id"]))
        for page in self.client.pages("get_runs", "runs", self.project_id):
            runs += [(int(r["id"]), None) for r in page]
        return runs

    def iter_results(self, *, plan_id: str | None = None, since: datetime | None = None) -> Iterator[Result]:
        users = self.users()
        for run_id, in_plan in self._runs_in_scope(plan_id):
            test_case = {int(t["id"]): int(t["case_id"]) for t in self.client.all("get_tests", "tests", run_id)}
            filters = {"created_after": int(since.timestamp()) - 1} if since else {}
            raws = self.client.all("get_results_for_run", "results", run_id, **filters)
            # TestRail answers newest first; results are events, so hand them on oldest first
            for raw in sorted(raws, key=lambda r: int(r["id"])):
                case_id = test_case.get(int(raw["test_id"]))
                if case_id is None:
                    continue
                item = convert.result_from_native(
                    raw, case_id=case_id, run_id=run_id, plan_id=in_plan, maps=self.value_maps, users=users
                )
                if isinstance(item, Unrepresentable):
                    with self._lock:
                        self.unrepresentable_results.append(item)
                    log.warning("%s", item)
                    continue
                yield item

    def _run_for(self, result: Result, plan_runs: dict[int, list[tuple[int, set[int]]]]) -> int:
        if result.run_id:
            return int(result.run_id)
        if not result.plan_id:
            raise ValueError(f"result for case {result.case_id} names neither run_id nor plan_id")
        pid = int(result.plan_id)
        if pid not in plan_runs:
            raw = self.client.get("get_plan", pid)
            run_ids = [int(r["id"]) for e in raw.get("entries") or [] for r in e.get("runs") or []]
            cases = self._run_cases(run_ids)
            plan_runs[pid] = [(rid, set(cases[rid])) for rid in run_ids]
        matches = [rid for rid, cases_in in plan_runs[pid] if int(result.case_id) in cases_in]
        if len(matches) != 1:
            raise CannotRepresent(
                [
                    Unrepresentable(
                        "result",
                        result.case_id,
                        "run_id",
                        f"plan {pid} has {len(matches)} runs with this case; name the run",
                    )
                ]
            )
        return matches[0]

    def prepare_results(self) -> None:
        try:
            self.users()
        except RemoteError as exc:
            log.debug("users not read ahead (add_results asks again): %s", exc)

    def add_results(self, results: Sequence[Result]) -> list[Result]:
        problems: list[Unrepresentable] = []
        bodies: list[dict[str, Any]] = []
        for result in results:
            body, more = convert.result_to_native(result, self.value_maps)
            problems += more
            bodies.append(body)
        if problems:
            raise CannotRepresent(problems)
        plan_runs: dict[int, list[tuple[int, set[int]]]] = {}
        by_run: dict[int, list[int]] = {}
        for index, result in enumerate(results):
            by_run.setdefault(self._run_for(result, plan_runs), []).append(index)
        users = self.users()
        stored: list[Result | None] = [None] * len(results)

        def post(run_id: int, batch: list[int]) -> None:
            answer = self.client.post("add_results_for_cases", run_id, body={"results": [bodies[i] for i in batch]})
            # the answer lists the created results in request order
            for i, raw in zip(batch, answer, strict=True):
                item = convert.result_from_native(
                    raw,
                    case_id=int(results[i].case_id),
                    run_id=run_id,
                    plan_id=_int_or_none(results[i].plan_id),
                    maps=self.value_maps,
                    users=users,
                )
                if isinstance(item, Unrepresentable):
                    raise CannotRepresent([item])
                item.marker = results[i].marker
                stored[i] = item

        batches = [(run_id, batch) for run_id, indexes in by_run.items() for batch in _chunks(indexes, RESULT_BATCH)]
        # Batches go out side by side (as trcli does) when no case has results in two of them: then the
        # order in which TestRail stores them cannot change which result is a case's latest. Several results
        # for one case in a run (a sync copying events) keep their order, one batch after the other.
        one_per_case = all(len({results[i].case_id for i in indexes}) == len(indexes) for indexes in by_run.values())
        if one_per_case and len(batches) > 1:
            with ThreadPoolExecutor(max_workers=RESULT_POSTERS, thread_name_prefix="testrail-results") as pool:
                futures = [pool.submit(post, run_id, batch) for run_id, batch in batches]
            for future in futures:
                future.result()  # the first failure is raised, after every batch has had its answer
        else:
            for run_id, batch in batches:
                post(run_id, batch)
        return [r for r in stored if r is not None]


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None


def _sent_run_cases(sent: list[dict[str, Any]], raw: dict[str, Any]) -> dict[int, list[int]] | None:
    """Case ids of the runs ``add_plan`` just created, from what was sent; None when they do not line up.

    TestRail creates exactly the runs and cases sent (``include_all`` false; an unknown case id fails the
    whole request with 400), so reading them back with ``get_tests`` (a request per 250 cases per run) would
    add nothing: for a CI push of 2,000 results that was ten requests. Entries come back in the order sent;
    the runs of an entry are told apart by their configuration ids.
    """
    created = raw.get("entries") or []
    if len(created) != len(sent):
        return None
    out: dict[int, list[int]] = {}
    for wanted, got in zip(sent, created, strict=True):
        runs = got.get("runs") or []
        if "runs" in wanted:
            by_config = {tuple(sorted(r["config_ids"])): r["case_ids"] for r in wanted["runs"]}
            if len(runs) != len(by_config):
                return None
            for run in runs:
                ids = by_config.get(tuple(sorted(int(c) for c in run.get("config_ids") or [])))
                if ids is None:
                    return None
                out[int(run["id"])] = sorted(set(ids))
        else:
            if len(runs) != 1:
                return None
            out[int(runs[0]["id"])] = sorted(set(wanted["case_ids"]))
    return out
