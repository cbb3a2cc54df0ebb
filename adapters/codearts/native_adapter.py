"""CodeArts TestPlan adapter for the project's own case library (v4 API, ``mode = "native"``, the default).

Scope: the cases of one branch (``branch``, by name or uri; the project's master branch by default),
optionally only some test types (``test_types``). Folders are the branch's directory tree at any depth.
Field placement and markers: :mod:`adapters.codearts.native_convert`.

Cost:
- the directory tree is read once per run (one ``show_feature_children`` call per directory that has
  children) and kept;
- a case read lists pages of 200; with ``since`` (jobs with ``full_read_every``) only cases whose
  ``last_modified`` is past the read mark are fetched in detail, so a sync with nothing changed reads list
  pages only; a full read fetches every case's detail (the list has no steps or preparation);
- a create or update is one request: the answer carries the record (steps, which ``TestCaseVo`` does not
  carry, are the ones just written).

Plans are v4 iterations of the branch. The SDK names ``update_test_iterator`` "modify a test plan": we take
iterations to be the test plans of the v1/v2 plan API, and use the v4 calls because only they can rename a
plan, change its dates or remove cases from it. Results: ``add_case_result_four`` per result (there is no
batch call); its ``uri`` carries the result's idempotency key, so a repeat is refused and taken as done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

from adapters.base import Adapter, Capabilities, FieldLimits, PlanUnchanged, batched
from adapters.codearts import native_convert as convert
from adapters.codearts.native_client import ADD_MAX, DELETE_MAX, NativeClient
from adapters.codearts.settings import CodeArtsSettings
from bridge.errors import CannotRepresent, MissingRoute, NotFound, UniqueViolation, Unrepresentable, ValidationFailed
from bridge.model import Case, Entity, Folder, Plan, Result
from mappings.valuemaps import ValueMaps

log = logging.getLogger("adapters.codearts.native")
#: the answer to a result whose uri (our idempotency key) is recorded already
ALREADY_RECORDED = frozenset({"CLOUDTEST.00017025"})
Path = tuple[str, ...]


class CodeArtsNativeAdapter(Adapter):
    kind = "codearts"
    capabilities: ClassVar[Capabilities] = Capabilities(
        entities=frozenset({Entity.FOLDER, Entity.CASE, Entity.PLAN, Entity.RESULT}),
        incremental_cases=True,
        incremental_plans=True,
        trustworthy_timestamps=False,
        read_results=True,
        plan_runs=False,
        limits=FieldLimits(title=convert.NAME_MAX, steps=convert.MAX_STEPS),
        case_fields=frozenset(
            {
                "folder",
                "title",
                "description",
                "preconditions",
                "steps",
                "priority",
                "type",
                "tags",
                "requirements",
                "custom",
            }
        ),
        plan_fields=frozenset({"name", "description", "start_date", "end_date"}),
    )

    settings: CodeArtsSettings

    def __init__(self, name: str, settings: CodeArtsSettings, value_maps: ValueMaps) -> None:  # type: ignore[override]
        super().__init__(name, settings, value_maps)
        self._client: NativeClient | None = None
        self._lock = threading.RLock()
        self._branch: str | None = None
        self._paths: dict[str, Path] | None = None  # directory uri -> path
        self._fields: dict[str, str] = {}  # custom_field_N -> name
        #: case uri -> (last_modified, compare_number) of the details this adapter read: the marker is in the
        #: detail only, so a lookup by marker skips the cases whose detail it already knows unchanged
        self._read: dict[str, tuple[int, str]] = {}
        self._journal_warned = False

    # ---- lifecycle -------------------------------------------------------------------------------------
    @property
    def client(self) -> NativeClient:
        with self._lock:
            if self._client is None:
                self._client = NativeClient(self.settings)
            return self._client

    def connect(self) -> None:
        self.branch_uri()
        for field in self.client.custom_fields():
            param = field.get("custom_field_param") or f"custom_field_{field.get('custom_field_id')}"
            self._fields[str(param)] = str(field.get("custom_field_name") or field.get("name") or param)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def describe(self) -> str:
        return f"{self.name} (codearts project {self.settings.project_id}, case library, branch {self.branch_uri()})"

    def branch_uri(self) -> str:
        with self._lock:
            if self._branch is None:
                wanted = self.settings.branch
                branches = self.client.list_branches()
                for b in branches:
                    if (wanted is None and b.get("is_master") in (1, "1")) or wanted in (b.get("uri"), b.get("name")):
                        self._branch = str(b["uri"])
                        break
                else:
                    names = ", ".join(str(b.get("name")) for b in branches) or "none"
                    raise NotFound(
                        f"branch {wanted or 'master'!r} not found in the project (branches: {names})",
                        system="codearts",
                        hint="Set branch to one of those names in the codearts system's config.",
                    )
            return self._branch

    # ---- folders ---------------------------------------------------------------------------------------
    def _tree(self) -> dict[str, Path]:
        with self._lock:
            if self._paths is None:
                paths: dict[str, Path] = {}
                branch = self.branch_uri()
                pending: list[tuple[str, Path]] = [(branch, ())]
                while pending:
                    parent, path = pending.pop()
                    for child in self.client.feature_children(parent, branch):
                        child_path = (*path, str(child.get("name")))
                        paths[str(child["uri"])] = child_path
                        if child.get("has_child"):
                            pending.append((str(child["uri"]), child_path))
                self._paths = paths
            return self._paths

    def iter_folders(self) -> Iterator[Folder]:
        for uri, path in sorted(self._tree().items(), key=lambda kv: kv[1]):
            yield Folder(id=uri, path=path)

    def ensure_folder(self, path: Sequence[str]) -> str:
        """The directory uri of ``path`` (``""``: the branch root), creating the missing ones along it."""
        wanted = Folder(path=tuple(path)).path
        with self._lock:
            tree = self._tree()
            by_path = {p: u for u, p in tree.items()}
            parent = self.branch_uri()
            uri = ""
            for depth in range(1, len(wanted) + 1):
                uri = by_path.get(wanted[:depth], "")
                if not uri:
                    try:
                        uri = str(self.client.add_directory(wanted[depth - 1], parent, self.branch_uri())["uri"])
                    except UniqueViolation:
                        # made since the tree was read: read it again and take that one
                        self._forget_tree()
                        tree = self._tree()
                        by_path = {p: u for u, p in tree.items()}
                        uri = by_path[wanted[:depth]]
                    tree[uri] = wanted[:depth]
                    by_path[wanted[:depth]] = uri
                parent = uri
            return uri

    # ---- cases -----------------------------------------------------------------------------------------
    def _items(self, version: str | None = None) -> Iterator[dict[str, Any]]:
        yield from self.client.iter_case_items(version or self.branch_uri(), test_types=self.settings.test_types)

    def _convert(self, native: dict[str, Any]) -> Case:
        feature = str(native.get("feature_uri") or "")
        if feature and feature not in self._tree():
            self._forget_tree()  # a directory made since the tree was read (by a person, or another run)
        return convert.case_from_native(native, paths=self._tree(), maps=self.value_maps, fields=self._fields)

    def _forget_tree(self) -> None:
        with self._lock:
            self._paths = None

    def iter_cases(self, *, since: datetime | None = None) -> Iterator[Case]:
        mark = round(since.timestamp() * 1000) if since is not None else None
        for item in self._items():
            if mark is not None and int(item.get("last_modified") or 0) <= mark:
                continue  # unchanged since the read mark: no detail request
            native = self.client.show_case(str(item["uri"]), self.branch_uri())
            if native:
                self._remember(item, native)
                yield self._convert(native)

    def _remember(self, item: dict[str, Any], native: dict[str, Any]) -> None:
        with self._lock:
            modified, number = int(item.get("last_modified") or 0), str(native.get("compare_number") or "")
            self._read[str(item["uri"])] = (modified, number)

    def get_case(self, case_id: str) -> Case | None:
        native = self.client.show_case(case_id, self.branch_uri())
        if not native or str(native.get("version_uri") or self.branch_uri()) != self.branch_uri():
            return None
        return self._convert(native)

    def find_case_by_marker(self, marker: str) -> Case | None:
        return self.find_cases_by_markers([marker]).get(marker)

    def find_cases_by_markers(self, markers: Collection[str]) -> dict[str, Case]:
        """The marker is in the detail only: one listing, then the details of the cases whose marker this
        adapter does not know yet, newest first (creates a run lost are among the newest), until every marker
        is found. A marker nobody carries costs one detail per unknown case once, not once per marker."""
        want = {convert.marker_value(m): m for m in markers}
        found: dict[str, Case] = {}
        items = sorted(self._items(), key=lambda i: int(i.get("last_modified") or 0), reverse=True)
        for item in items:
            if len(found) == len(want):
                break
            uri, modified = str(item["uri"]), int(item.get("last_modified") or 0)
            known = self._read.get(uri)
            if known is not None and known[0] == modified and known[1] not in want:
                continue
            native = self.client.show_case(uri, self.branch_uri())
            if not native:
                continue
            self._remember(item, native)
            number = str(native.get("compare_number") or "")
            if number in want and want[number] not in found:
                found[want[number]] = self._convert(native)
        return found

    def check_case(self, case: Case) -> list[Unrepresentable]:
        return convert.check_case(case, field_names=set(self._fields.values()), maps=self.value_maps)

    def _body(self, case: Case, marker: str | None) -> dict[str, Any]:
        problems = self.check_case(case)
        if problems:
            raise CannotRepresent(problems)
        return convert.case_to_native(
            case,
            feature_uri=self.ensure_folder(case.folder) if case.folder else "",
            version_uri=self.branch_uri(),
            maps=self.value_maps,
            params={name: param for param, name in self._fields.items()},
            project_id=self.settings.project_id,
            marker=marker,
        )

    def _stored(self, answer: dict[str, Any], body: dict[str, Any]) -> Case:
        # TestCaseVo (the create/update answer) has no step list: the steps are the ones just written
        answer = {**answer}
        answer.setdefault("steps", body["steps"])
        return self._convert(answer)

    def create_case(self, case: Case, *, marker: str) -> Case:
        body = self._body(case, marker)
        return self._stored(self.client.create_case(self.branch_uri(), body), body)

    def update_case(self, case_id: str, case: Case) -> Case:
        body = self._body(case, None)
        try:
            return self._stored(self.client.update_case(case_id, body), body)
        except NotFound as exc:
            raise NotFound(f"test case {case_id} does not exist", system="codearts", code=exc.code) from exc

    def delete_case(self, case_id: str) -> None:
        self.delete_cases([case_id])

    def delete_cases(self, case_ids: Sequence[str]) -> None:
        for batch in batched(case_ids, DELETE_MAX):
            self.client.delete_cases(self.branch_uri(), batch)

    # ---- plans -----------------------------------------------------------------------------------------
    def _plan_case_ids(self, plan_id: str) -> list[str]:
        return sorted(str(i["uri"]) for i in self._items(plan_id))

    def iter_plans(self) -> Iterator[Plan]:
        for native in self.client.iter_iterators():
            yield convert.plan_from_native(native, self._plan_case_ids(str(native["uri"])))

    def iter_plans_since(self, since: datetime | None, linked: Collection[str]) -> Iterator[Plan | PlanUnchanged]:
        """The plan journals are the change feed: one journal read per plan, and the plan's case list only when
        its journal moved past ``since`` (or cannot tell)."""
        for native in self.client.iter_iterators():
            plan_id = str(native["uri"])
            changed = self._journal_time(plan_id)
            if since is not None and plan_id in linked and changed is not None and changed <= since:
                name, marker = str(native.get("name") or ""), convert.marker_of(native.get("number"))
                yield PlanUnchanged(id=plan_id, name=name, marker=marker, updated_at=changed)
                continue
            plan = convert.plan_from_native(native, self._plan_case_ids(plan_id))
            yield plan.model_copy(update={"updated_at": changed})

    def _journal_time(self, plan_id: str) -> datetime | None:
        """When the plan last changed, from its journal; None: not known (then the plan is read)."""
        try:
            entries = self.client.plan_journals(plan_id)
        except (MissingRoute, NotFound) as exc:
            if not self._journal_warned:
                self._journal_warned = True
                log.warning("%s: plan journals cannot be read (%s); plans are read in full", self.name, exc)
            return None
        return convert.journal_time(entries) if entries is not None else None

    def _native_plan(self, plan_id: str) -> dict[str, Any] | None:
        return next((p for p in self.client.iter_iterators() if str(p.get("uri")) == plan_id), None)

    def get_plan(self, plan_id: str) -> Plan | None:
        native = self._native_plan(plan_id)
        return convert.plan_from_native(native, self._plan_case_ids(plan_id)) if native else None

    def find_plan_by_marker(self, marker: str) -> Plan | None:
        want = convert.marker_value(marker)
        native = next((p for p in self.client.iter_iterators() if p.get("number") == want), None)
        return convert.plan_from_native(native, self._plan_case_ids(str(native["uri"]))) if native else None

    def check_plan(self, plan: Plan) -> list[Unrepresentable]:
        return convert.check_plan(plan)

    def create_plan(self, plan: Plan, *, marker: str) -> Plan:
        problems = convert.check_plan(plan)
        if problems:
            raise CannotRepresent(problems)
        native = self.client.create_iterator(self.branch_uri(), convert.plan_to_native(plan, marker=marker))
        plan_id = str(native["uri"])
        cases = sorted(plan.case_ids())
        for batch in batched(cases, ADD_MAX):
            self.client.add_to_iterator(plan_id, batch)
        return convert.plan_from_native(native, cases)

    def update_plan(self, plan_id: str, plan: Plan) -> Plan:
        native = self._native_plan(plan_id)
        if native is None:
            raise NotFound(f"plan {plan_id} does not exist", system="codearts")
        problems = convert.check_plan(plan)
        if problems:
            raise CannotRepresent(problems)
        current = convert.plan_from_native(native, self._plan_case_ids(plan_id))
        fields = ("name", "description", "start_date", "end_date")
        if any(getattr(plan, f) != getattr(current, f) for f in fields):
            body = convert.plan_to_native(plan, marker=None, current_number=native.get("number"))
            native = self.client.update_iterator(plan_id, body) or native
        wanted, present = plan.case_ids(), current.case_ids()
        for batch in batched(sorted(wanted - present), ADD_MAX):
            self.client.add_to_iterator(plan_id, batch)
        for batch in batched(sorted(present - wanted), ADD_MAX):
            self.client.remove_from_iterator(plan_id, batch)
        return convert.plan_from_native(native, sorted(wanted))

    # ---- results ---------------------------------------------------------------------------------------
    def iter_results(self, *, plan_id: str | None = None, since: datetime | None = None) -> Iterator[Result]:
        for item in self._items(plan_id):
            result = convert.result_from_item(item, plan_id=plan_id, maps=self.value_maps)
            if result is not None and (since is None or result.executed_at is None or result.executed_at >= since):
                yield result

    def add_results(self, results: Sequence[Result]) -> list[Result]:
        problems = [p for r in results for p in convert.check_result(r, self.value_maps)]
        if problems:
            raise CannotRepresent(problems)
        for result in results:
            body = convert.result_to_native(result, self.value_maps)
            try:
                self.client.add_result(result.plan_id or self.branch_uri(), result.case_id, body)
            except (UniqueViolation, ValidationFailed) as exc:
                if exc.code not in ALREADY_RECORDED:
                    raise
        # A result's id is what iter_results will read back (case and execution round), or the next run would
        # take the copy for a new result and copy it back. The answer to a set-result carries no round, so the
        # plan's list is read once per plan written (pages, not a request per result).
        rounds: dict[tuple[str | None, str], str] = {}
        for plan_id in {r.plan_id for r in results}:
            for item in self._items(plan_id):
                info = item.get("execute_info") or {}
                rounds[(plan_id, str(item.get("uri")))] = f"{item.get('uri')}:{info.get('execute_times')}"
        return [r.model_copy(update={"id": rounds.get((r.plan_id, r.case_id), f"{r.case_id}:?")}) for r in results]
