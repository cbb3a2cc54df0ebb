"""The CodeArts TestPlan (cloudtest) v1/v2 API, one method per operation, limits enforced before sending.

Every operation of the vendor document (test suite from a repository file, environment groups, plans v1 and
v2, batch-add, a plan's requirements and journals) plus what a sync needs (service registration, case CRUD,
case listing and history, execution and result batches). Methods return the decoded JSON; batching to the
largest allowed size and conversion are the adapter's job, but a call that breaks a documented limit is
refused here with ValueError instead of being sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from adapters.codearts import errors
from adapters.codearts.iam import IamTokenAuth
from adapters.codearts.settings import HuaweiAuthSettings
from adapters.codearts.signer import AkSkAuth
from bridge.errors import NotFound
from bridge.http import HttpClient, default_route

PAGE_MAX = 200  # cases, plans, environments, issues, journals per page
BATCH_ADD_MAX = 49  # "fewer than 50" ids per batch-add and batch-delete
EXECUTE_MAX = 50  # "at most 50" items per execute_list
CASE_OFFSET_MAX = 100_000
PLAN_PAGE_MAX = 20_000  # v1 plan list: offset is a page number 1..20000


def auth_for(settings: HuaweiAuthSettings) -> httpx.Auth:
    """AK/SK signing when ak and sk are set, else an IAM password token."""
    if settings.ak is not None and settings.sk is not None:
        return AkSkAuth(settings.ak.get_secret_value(), settings.sk.get_secret_value(), project_id=settings.project_id)
    assert settings.iam_user and settings.iam_password and settings.iam_domain
    return IamTokenAuth(
        settings.iam_url or settings.url,
        settings.iam_user,
        settings.iam_password.get_secret_value(),
        settings.iam_domain,
        project_id=settings.project_id,
        project_name=settings.iam_project_name,
        timeout=settings.timeout,
        verify_tls=settings.verify_tls,
    )


def _route(request: httpx.Request) -> str:
    return default_route(request)


def _limit(value: int, low: int, high: int, what: str) -> None:
    if not low <= value <= high:
        raise ValueError(f"{what} must be {low}..{high}, got {value}")


class CodeArtsClient:
    def __init__(self, settings: HuaweiAuthSettings, *, auth: httpx.Auth | None = None) -> None:
        self.project_id = settings.project_id
        self.auth = auth or auth_for(settings)
        self.http = HttpClient(
            "codearts",
            settings.http_settings(),
            auth=self.auth,
            headers={"Content-Type": "application/json;charset=UTF-8"},
            route_of=_route,
            error_for=errors.error_for,
            is_throttled=errors.is_throttled,
        )

    def close(self) -> None:
        self.http.close()

    @property
    def _p(self) -> str:
        return f"/v1/projects/{self.project_id}"

    # ---- services ------------------------------------------------------------------------------------
    def list_services(self) -> list[dict[str, Any]]:
        return list(self.http.json(self.http.get("/v1/services"), dict).get("services") or [])

    def create_service(self, name: str, server_host: str) -> dict[str, Any]:
        if len(name) > 16:
            raise ValueError("service_name: at most 16 characters")
        body = {"service_name": name, "server_host": server_host}
        return dict(self.http.json(self.http.post("/v1/services", json=body), dict))

    # ---- cases ---------------------------------------------------------------------------------------
    def create_case(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.http.json(self.http.post(f"{self._p}/testcases", json=body), dict))

    def update_case(self, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.http.json(self.http.put(f"{self._p}/testcases/{case_id}", json=body), dict))

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.http.json(self.http.get(f"{self._p}/testcases/{case_id}"), dict))
        except NotFound:
            return None

    def get_case_by_number(self, number: str) -> dict[str, Any] | None:
        try:
            body = self.http.json(self.http.get(f"{self._p}/testcase", params={"testcase_number": number}), dict)
        except NotFound:
            return None
        return dict(body) if body and body.get("testcase_id") else None

    def batch_delete_cases(self, service_id: int, case_ids: Sequence[str]) -> None:
        _limit(len(case_ids), 1, BATCH_ADD_MAX, "testcase_id_list length")
        body = {"service_id": service_id, "testcase_id_list": list(case_ids)}
        self.http.post(f"{self._p}/testcases/batch-delete", json=body, idempotent=True)

    def list_cases(self, offset: int, limit: int = PAGE_MAX, *, version_id: str | None = None) -> dict[str, Any]:
        """One page of ``POST /v1/{pid}/testcases/batch-query``: ``{total, values}`` (offset is 0-based)."""
        _limit(offset, 0, CASE_OFFSET_MAX, "offset")
        _limit(limit, 1, PAGE_MAX, "limit")
        body: dict[str, Any] = {"offset": offset, "limit": limit}
        if version_id:
            body["version_id"] = version_id
        url = f"/v1/{self.project_id}/testcases/batch-query"
        return dict(self.http.json(self.http.post(url, json=body, idempotent=True), dict))

    def case_histories(self, case_id: str, version_id: str, offset: int = 0, limit: int = PAGE_MAX) -> dict[str, Any]:
        _limit(offset, 0, 20_000, "offset")
        _limit(limit, 1, PAGE_MAX, "limit")
        body = {"offset": offset, "limit": limit, "version_id": version_id}
        url = f"/v1/{self.project_id}/testcases/{case_id}/histories/batch-query"
        return dict(self.http.json(self.http.post(url, json=body, idempotent=True), dict))

    # ---- executions and results ------------------------------------------------------------------------
    def run_cases(self, service_id: int, execute_list: Sequence[dict[str, Any]], plan_id: str | None = None) -> None:
        self._execute("execution", service_id, execute_list, plan_id)

    def update_results(
        self, service_id: int, execute_list: Sequence[dict[str, Any]], plan_id: str | None = None
    ) -> None:
        self._execute("result", service_id, execute_list, plan_id)

    def _execute(self, what: str, service_id: int, items: Sequence[dict[str, Any]], plan_id: str | None) -> None:
        _limit(len(items), 1, EXECUTE_MAX, "execute_list length")
        body: dict[str, Any] = {"service_id": service_id, "execute_list": list(items)}
        if plan_id:
            body["plan_id"] = plan_id
        # execute_id makes a repeat harmless (the service refuses a known execute_id): safe to retry
        self.http.post(f"{self._p}/testcases/{what}", json=body, idempotent=True)

    # ---- plans ---------------------------------------------------------------------------------------
    def create_plan(self, body: dict[str, Any]) -> str:
        if not 1 <= len(body.get("service_id_list") or []) < 10:
            raise ValueError("service_id_list: 1 to 9 service ids")
        return str(self.http.json(self.http.post(f"{self._p}/plans", json=body), dict)["plan_id"])

    def list_plans_v1(
        self, page: int, limit: int = PAGE_MAX, *, name: str | None = None, stage: str | None = None
    ) -> list[dict[str, Any]]:
        """v1 plan list: ``page`` is a PAGE NUMBER from 1 (the API calls it offset)."""
        _limit(page, 1, PLAN_PAGE_MAX, "page")
        _limit(limit, 1, PAGE_MAX, "limit")
        params: dict[str, Any] = {"offset": page, "limit": limit}
        if name:
            params["name"] = name
        if stage:
            params["current_stage"] = stage
        return list(self.http.json(self.http.get(f"{self._p}/plans", params=params), list))

    def list_plans_v2(
        self, offset: int, limit: int = PAGE_MAX, *, name: str | None = None, stage: str | None = None
    ) -> list[dict[str, Any]]:
        """v2 plan list: ``offset`` is the 0-based position of the first plan."""
        _limit(offset, 0, 2_000_000, "offset")
        _limit(limit, 1, PAGE_MAX, "limit")
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if name:
            params["name"] = name
        if stage:
            params["current_stage"] = stage
        return list(self.http.json(self.http.get(f"/v2/projects/{self.project_id}/plans", params=params), list))

    def batch_add_cases(self, plan_id: str, service_id: int, case_ids: Sequence[str]) -> None:
        _limit(len(case_ids), 1, BATCH_ADD_MAX, "testcase_id_list length")
        body = {"service_id": service_id, "testcase_id_list": list(case_ids)}
        # adding a case that is in the plan already changes nothing: safe to repeat
        self.http.post(f"{self._p}/plans/{plan_id}/testcases/batch-add", json=body, idempotent=True)

    def plan_issues(self, plan_id: str, offset: int = 0, limit: int = PAGE_MAX) -> list[dict[str, Any]]:
        _limit(offset, 0, 999, "offset")
        _limit(limit, 1, PAGE_MAX, "limit")
        params = {"offset": offset, "limit": limit}
        return list(self.http.json(self.http.get(f"{self._p}/plans/{plan_id}/issues", params=params), list))

    def plan_journals(self, plan_id: str, offset: int = 0, limit: int = PAGE_MAX) -> list[dict[str, Any]]:
        _limit(offset, 0, 999, "offset")
        _limit(limit, 1, PAGE_MAX, "limit")
        params = {"offset": offset, "limit": limit}
        return list(self.http.json(self.http.get(f"{self._p}/plans/{plan_id}/journals", params=params), list))

    # ---- environments and API test suites --------------------------------------------------------------
    def list_environments(self, offset: int = 0, limit: int = PAGE_MAX) -> dict[str, Any]:
        _limit(offset, 0, 999, "offset")
        _limit(limit, 1, PAGE_MAX, "limit")
        params = {"offset": offset, "limit": limit}
        return dict(self.http.json(self.http.get(f"{self._p}/environments", params=params), dict))

    def create_api_test_suite(self, name: str, repository_id: str, branch: str, file_path: str) -> dict[str, Any]:
        _limit(len(name), 3, 128, "testsuite_name length")
        _limit(len(repository_id), 32, 32, "repository_id length")
        _limit(len(branch), 3, 100, "repository_branch length")
        _limit(len(file_path), 6, 128, "file_path length")
        body = {
            "testsuite_name": name,
            "repository_id": repository_id,
            "repository_branch": branch,
            "file_path": file_path,
        }
        answer = dict(self.http.json(self.http.post(f"{self._p}/repository/testsuites", json=body), dict))
        # the document's example says "testsuite_ids" where its table says "testcase_ids"
        answer.setdefault("testcase_ids", answer.get("testsuite_ids") or [])
        return answer
