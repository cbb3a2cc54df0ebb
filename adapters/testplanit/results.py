"""TestPlanIt results: ``testRunResults`` of a run, posted in bulk, statuses through the status table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.testplanit import convert, richtext
from adapters.testplanit.client import TestPlanItClient
from adapters.testplanit.query import RESULT_INCLUDE, connect
from bridge.errors import CannotRepresent, Unrepresentable, ValidationFailed
from bridge.model import Result, Status
from mappings.valuemaps import ValueMaps

PAGE_SIZE = 500


class ResultsMixin:
    """The result half of :class:`~adapters.testplanit.adapter.TestPlanItAdapter`."""

    name: str
    value_maps: ValueMaps
    project_id: int
    user_id: str
    statuses: list[dict[str, Any]]

    @property
    def client(self) -> TestPlanItClient:  # the adapter's
        raise NotImplementedError

    def _issue_ids(self, names: Sequence[str]) -> dict[str, int]:  # the adapter's
        raise NotImplementedError

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
