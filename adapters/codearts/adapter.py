"""CodeArts TestPlan adapter: the bridge owns the cases of its own registered custom test service.

Scope: the project (``project_id``) and the custom test service named ``settings.service_name`` (registered
on connect when missing, or ``settings.service_id``). Only cases of that service type are read and written.
See :mod:`adapters.codearts.convert` for where each field and the markers live.

Reads: the case list (``batch-query``, 200 per page) carries no steps, preparation or labels, and the API
has no documented bulk detail call, so a full read is one list page per 200 cases plus one detail request
per case of our service type (the list is filtered by type first). Results are read from the list's
``result``/``execute_info`` (latest execution per case).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.base import Adapter, Capabilities, FieldLimits, batched
from adapters.codearts import convert
from adapters.codearts.client import BATCH_ADD_MAX, EXECUTE_MAX, PAGE_MAX, CodeArtsClient
from adapters.codearts.settings import CodeArtsSettings
from bridge.errors import (
    CannotRepresent,
    ItemFailure,
    NotFound,
    PartialBatchFailure,
    UniqueViolation,
    Unrepresentable,
    ValidationFailed,
)
from bridge.model import Case, Entity, Plan, Result
from mappings.valuemaps import ValueMaps

#: answers meaning "this execute_id is recorded already": a repeated result, which is what we want
ALREADY_RECORDED = frozenset(
    {
        "CLOUDTEST.00017024",
        "CLOUDTEST.00017025",
        "CLOUDTEST.00017026",
        "CLOUDTEST.00017027",
        "CLOUDTEST.00017028",
        "CLOUDTEST.00017029",
    }
)
SERVICE_HOST = "https://testplan-bridge.invalid"
#: the service id of a dry run where the bridge's service is not registered yet: matches no record (real ids
#: are positive, and -1 stands for "no type" where list items are compared)
NO_SERVICE = -2

log = logging.getLogger("adapters.codearts")


class CodeArtsAdapter(Adapter):
    kind = "codearts"
    capabilities: ClassVar[Capabilities] = Capabilities(
        entities=frozenset({Entity.CASE, Entity.PLAN, Entity.RESULT}),
        incremental_cases=False,
        trustworthy_timestamps=False,
        read_results=True,
        plan_runs=False,
        limits=FieldLimits(
            title=convert.TITLE_MAX,
            description=convert.TEXT_MAX,
            preconditions=convert.TEXT_MAX,
            step_text=convert.TEXT_MAX,
            steps=convert.MAX_STEPS,
            tags=convert.MAX_LABELS,
            tag_length=convert.LABEL_MAX,
        ),
        # custom-service cases have no automation key, estimate or custom fields (folder and type live in
        # reserved labels); jobs do not merge what this side cannot hold
        case_fields=frozenset(
            {"folder", "title", "description", "preconditions", "steps", "priority", "type", "tags", "requirements"}
        ),
        # plans: name and cycle dates only (no description, owner, milestone or state in this API)
        plan_fields=frozenset({"name", "start_date", "end_date"}),
    )

    settings: CodeArtsSettings

    def __init__(self, name: str, settings: CodeArtsSettings, value_maps: ValueMaps) -> None:  # type: ignore[override]
        super().__init__(name, settings, value_maps)
        self._client: CodeArtsClient | None = None
        self._service_id: int | None = settings.service_id
        self._lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------------------------
    @property
    def client(self) -> CodeArtsClient:
        with self._lock:
            if self._client is None:
                self._client = CodeArtsClient(self.settings)
            return self._client

    def connect(self) -> None:
        self.service_id()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def describe(self) -> str:
        return f"{self.name} (codearts project {self.settings.project_id}, service {self.settings.service_name})"

    def service_id(self) -> int:
        """The bridge's custom test service: configured, found by name, or registered now."""
        if self._service_id is not None:
            return self._service_id
        with self._lock:
            if self._service_id is None:
                self._service_id = self._find_or_register()
            return self._service_id

    def _find_or_register(self) -> int:
        client = self._client or CodeArtsClient(self.settings)
        self._client = client
        name = self.settings.service_name
        for service in client.list_services():
            if service.get("name") == name:
                return int(service["id"])
        if self.read_only:
            # a dry run registers nothing: with no service yet, no case of ours exists (the creates it plans
            # would register it on the first real run)
            log.info("dry run: the bridge's test service %r is not registered yet", name)
            return NO_SERVICE
        try:
            return int(client.create_service(name, SERVICE_HOST)["service_id"])
        except UniqueViolation:
            # registered meanwhile by another run
            for service in client.list_services():
                if service.get("name") == name:
                    return int(service["id"])
            raise

    # ---- cases -----------------------------------------------------------------------------------------
    def _list_items(self, version_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every case list item of our service type (in the project, or in a plan)."""
        service = self.service_id()
        offset = 0
        while True:
            page = self.client.list_cases(offset, PAGE_MAX, version_id=version_id)
            values = page.get("values") or []
            for item in values:
                if int((item.get("test_type") or {}).get("id") or -1) == service:
                    yield item
            offset += len(values)
            if not values or offset >= int(page.get("total") or 0):
                return

    def iter_cases(self, *, since: datetime | None = None) -> Iterator[Case]:
        for item in self._list_items():
            native = self.client.get_case(str(item["id"]))
            if native is not None:
                yield convert.case_from_native(native, maps=self.value_maps)

    def get_case(self, case_id: str) -> Case | None:
        native = self.client.get_case(case_id)
        if native is None or int(native.get("service_id") or -1) != self.service_id():
            return None
        return convert.case_from_native(native, maps=self.value_maps)

    def find_case_by_marker(self, marker: str) -> Case | None:
        native = self.client.get_case_by_number(convert.number_for(marker))
        return convert.case_from_native(native, maps=self.value_maps) if native else None

    def check_case(self, case: Case) -> list[Unrepresentable]:
        return convert.check_case(case)

    def _refuse(self, case: Case, marker: str | None = None) -> None:
        problems = convert.check_case(case)
        if marker is not None and len(convert.number_for(marker)) > convert.NUMBER_MAX:
            problems.append(Unrepresentable("case", case.title, "marker", "longer than the 128-character number"))
        if problems:
            raise CannotRepresent(problems)

    def create_case(self, case: Case, *, marker: str) -> Case:
        self._refuse(case, marker)
        body = convert.case_to_native(case, service_id=self.service_id(), maps=self.value_maps, marker=marker)
        created = self.client.create_case(body)
        return self._read_back(str(created["testcase_id"]))

    def update_case(self, case_id: str, case: Case) -> Case:
        self._refuse(case)
        current = self.client.get_case(case_id)
        if current is None:
            raise NotFound(f"test case {case_id} does not exist", system="codearts")
        body = convert.case_to_native(case, service_id=self.service_id(), maps=self.value_maps)
        # keep the number (our marker): the update replaces it with a generated one when omitted
        body["testcase_number"] = current.get("testcase_number")
        self.client.update_case(case_id, body)
        return self._read_back(case_id)

    def _read_back(self, case_id: str) -> Case:
        native = self.client.get_case(case_id)
        if native is None:
            raise NotFound(f"test case {case_id} vanished after the write", system="codearts")
        return convert.case_from_native(native, maps=self.value_maps)

    def delete_case(self, case_id: str) -> None:
        self.delete_cases([case_id])

    def delete_cases(self, case_ids: Sequence[str]) -> None:
        for batch in batched(case_ids, BATCH_ADD_MAX):
            self.client.batch_delete_cases(self.service_id(), batch)

    # ---- plans -----------------------------------------------------------------------------------------
    def iter_plan_natives(self) -> Iterator[dict[str, Any]]:
        """Every plan of the project (v2 list, 0-based offset)."""
        offset = 0
        while True:
            page = self.client.list_plans_v2(offset, PAGE_MAX)
            yield from page
            if len(page) < PAGE_MAX:
                return
            offset += len(page)

    def _plan_case_ids(self, plan_id: str) -> list[str]:
        return sorted(str(item["id"]) for item in self._list_items(version_id=plan_id))

    def iter_plans(self) -> Iterator[Plan]:
        for native in self.iter_plan_natives():
            plan_id = str(native["plan_id"])
            yield convert.plan_from_native(native, self._plan_case_ids(plan_id))

    def get_plan(self, plan_id: str) -> Plan | None:
        native = next((p for p in self.iter_plan_natives() if str(p.get("plan_id")) == plan_id), None)
        return convert.plan_from_native(native, self._plan_case_ids(plan_id)) if native else None

    def find_plan_by_marker(self, marker: str) -> Plan | None:
        tag = f"[tpb:{marker}]"
        page = 0
        while True:
            page += 1
            found = self.client.list_plans_v1(page, PAGE_MAX, name=tag)
            for native in found:
                if convert.split_plan_name(str(native.get("name") or ""))[1] == marker:
                    plan_id = str(native["plan_id"])
                    return convert.plan_from_native(native, self._plan_case_ids(plan_id))
            if len(found) < PAGE_MAX:
                return None

    def check_plan(self, plan: Plan) -> list[Unrepresentable]:
        return convert.check_plan(plan)

    def create_plan(self, plan: Plan, *, marker: str) -> Plan:
        problems = convert.check_plan(plan, marker_length=len(marker))
        if problems:
            raise CannotRepresent(problems)
        plan_id = self.client.create_plan(convert.plan_to_native(plan, service_id=self.service_id(), marker=marker))
        self.add_cases_to_plan(plan_id, sorted(plan.case_ids()))
        stored = self.get_plan(plan_id)
        if stored is None:
            raise NotFound(f"plan {plan_id} vanished after the create", system="codearts")
        return stored

    def update_plan(self, plan_id: str, plan: Plan) -> Plan:
        """The API can only add cases to a plan; any other change is refused, not half-applied."""
        current = self.get_plan(plan_id)
        if current is None:
            raise NotFound(f"plan {plan_id} does not exist", system="codearts")
        problems = convert.check_plan(plan)
        for name in ("name", "start_date", "end_date"):
            if getattr(plan, name) != getattr(current, name):
                problems.append(Unrepresentable("plan", plan_id, name, "the API cannot change a plan after creation"))
        removed = current.case_ids() - plan.case_ids()
        if removed:
            problems.append(
                Unrepresentable("plan", plan_id, "runs", f"the API cannot remove cases from a plan ({len(removed)})")
            )
        if problems:
            raise CannotRepresent(problems)
        self.add_cases_to_plan(plan_id, sorted(plan.case_ids() - current.case_ids()))
        stored = self.get_plan(plan_id)
        assert stored is not None
        return stored

    def add_cases_to_plan(self, plan_id: str, case_ids: Sequence[str]) -> None:
        """batch-add in the largest batches (49 ids); per-item failures of every batch are collected."""
        failures: list[ItemFailure] = []
        succeeded: list[str] = []
        first: PartialBatchFailure | None = None
        for batch in batched(case_ids, BATCH_ADD_MAX):
            try:
                self.client.batch_add_cases(plan_id, self.service_id(), batch)
                succeeded.extend(batch)
            except PartialBatchFailure as exc:
                first = first or exc
                failed_ids = {f.item_id for f in exc.failures}
                failures.extend(exc.failures)
                succeeded.extend(i for i in batch if i not in failed_ids)
        if first is not None:
            raise PartialBatchFailure(
                first.remote_message,
                failures=failures,
                succeeded=succeeded,
                system="codearts",
                method="POST",
                route=first.route,
                status=first.status,
                code=first.code,
                hint=first.hint,
            )

    # ---- results ---------------------------------------------------------------------------------------
    def iter_results(self, *, plan_id: str | None = None, since: datetime | None = None) -> Iterator[Result]:
        for item in self._list_items(version_id=plan_id):
            result = convert.result_from_list_item(item, plan_id=plan_id, maps=self.value_maps)
            if result is not None and (since is None or result.executed_at is None or result.executed_at >= since):
                yield result

    def add_results(self, results: Sequence[Result]) -> list[Result]:
        """Execution then result, per plan, in execute_list batches of 50; execute_id is the idempotency key."""
        problems = [p for r in results for p in convert.check_result(r, self.value_maps)]
        if problems:
            raise CannotRepresent(problems)
        now = datetime.now(UTC)
        by_plan: dict[str | None, list[int]] = {}
        for index, result in enumerate(results):
            by_plan.setdefault(result.plan_id, []).append(index)
        failures: list[ItemFailure] = []
        failed_cases: set[tuple[str | None, str]] = set()
        for plan_id, indexes in by_plan.items():
            # a case may appear once per execute_list: repeated cases go to later batches
            for batch in _unique_case_batches([results[i] for i in indexes], EXECUTE_MAX):
                pairs = [convert.result_to_native(r, self.value_maps, now) for r in batch]
                for step, items in (("execution", [p[0] for p in pairs]), ("result", [p[1] for p in pairs])):
                    items = [i for i in items if (plan_id, i["testcase_id"]) not in failed_cases]
                    if not items:
                        continue
                    try:
                        if step == "execution":
                            self.client.run_cases(self.service_id(), items, plan_id)
                        else:
                            self.client.update_results(self.service_id(), items, plan_id)
                    except PartialBatchFailure as exc:
                        for failure in exc.failures:
                            if failure.code in ALREADY_RECORDED:
                                continue
                            failures.append(failure)
                            failed_cases.add((plan_id, failure.item_id))
                    except (UniqueViolation, ValidationFailed) as exc:
                        if exc.code not in ALREADY_RECORDED:
                            raise
        if failures:
            raise PartialBatchFailure(
                "some results were not stored",
                failures=failures,
                system="codearts",
                method="POST",
                route="/v1/projects/{id}/testcases/result",
            )
        return [r.model_copy(update={"id": f"{r.case_id}:{convert.execute_id_for(r)}"}) for r in results]


def _unique_case_batches(results: Sequence[Result], size: int) -> Iterator[list[Result]]:
    pending = list(results)
    while pending:
        batch: list[Result] = []
        seen: set[str] = set()
        rest: list[Result] = []
        for r in pending:
            if r.case_id in seen or len(batch) >= size:
                rest.append(r)
            else:
                seen.add(r.case_id)
                batch.append(r)
        yield batch
        pending = rest
