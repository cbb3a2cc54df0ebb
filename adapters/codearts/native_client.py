"""The v4 native case library of CodeArts TestPlan, one method per SDK operation the adapter uses.

Paths, parameters and body fields are exactly those of Huawei's official SDK (``huaweicloudsdkcloudtest``
3.1.219, ``v1/cloudtest_client.py``): the live gateway answers ``404 APIG.0101`` to any other path, which
:mod:`adapters.codearts.errors` reports as an unpublished route, never as a missing record. Answers come in
the ``{status, result: {value, total, page_no, page_size, has_more}, error: {code, reason}}`` envelope;
methods return ``result.value`` (pages: the whole ``result``), and an answer with ``status: error`` raises
the typed error even when its HTTP status says 200.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from adapters.codearts import errors
from adapters.codearts.client import auth_for
from adapters.codearts.settings import CodeArtsSettings
from bridge.errors import NotFound
from bridge.http import HttpClient, default_route

PAGE_SIZE = 200
DELETE_MAX = 100
JOURNAL_PAGE = 200
JOURNAL_OFFSET_MAX = 999  # the journal list takes positions 0..999
ADD_MAX = 500  # above this the SDK documents is_async=true; the adapter sends batches of at most this


class NativeClient:
    def __init__(self, settings: CodeArtsSettings) -> None:
        self.project_id = settings.project_id
        self.http = HttpClient(
            "codearts",
            settings.http_settings(),
            auth=auth_for(settings),
            headers={"Content-Type": "application/json;charset=UTF-8"},
            route_of=default_route,
            error_for=errors.error_for,
            is_throttled=errors.is_throttled,
        )

    def close(self) -> None:
        self.http.close()

    def _result(self, response: Any) -> dict[str, Any]:
        body = self.http.json(response, dict)
        if body.get("status") == "error":
            raise errors.envelope_error(body, response)
        result = body.get("result")
        return result if isinstance(result, dict) else {}

    def _value(self, response: Any) -> Any:
        return self._result(response).get("value")

    # ---- branches and directories -----------------------------------------------------------------------
    def list_branches(self) -> list[dict[str, Any]]:
        answer = self.http.get("/GT3KServer/v4/branches", params={"project_uuid": self.project_id})
        return list(self._value(answer) or [])

    def feature_children(self, feature_id: str, version_uri: str) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = {
                "version_uri": version_uri,
                "project_uuid": self.project_id,
                "page_number": page,
                "page_size": PAGE_SIZE,
            }
            url = f"/GT3KServer/v4/features/{feature_id}/children"
            result = self._result(self.http.post(url, json=body, idempotent=True))
            yield from result.get("value") or []
            if not result.get("has_more"):
                return
            page += 1

    def add_directory(self, name: str, parent_uri: str, version_uri: str) -> dict[str, Any]:
        body = {
            "name": name,
            "is_feature": "2",
            "parent_uri": parent_uri,
            "version_uri": version_uri,
            "project_uuid": self.project_id,
        }
        return dict(self._value(self.http.post("/v4/features", json=body)) or {})

    # ---- project configuration --------------------------------------------------------------------------
    def custom_fields(self) -> list[dict[str, Any]]:
        url = f"/GT3KServer/v4/{self.project_id}/testcase/field/batch-query"
        return list(self._value(self.http.get(url)) or [])

    def test_types(self) -> list[dict[str, Any]]:
        return list(self._value(self.http.get(f"/GT3KServer/v4/{self.project_id}/test-types")) or [])

    # ---- cases -------------------------------------------------------------------------------------------
    def list_cases(self, version_uri: str, page_no: int, *, test_types: Sequence[str] = ()) -> dict[str, Any]:
        """One page of ``list_all_test_cases``: ``{value, total, has_more, ...}``."""
        body: dict[str, Any] = {"version_uri": version_uri, "page_no": page_no, "page_size": PAGE_SIZE}
        if test_types:
            body["test_types"] = list(test_types)
        url = f"/GT3KServer/v4/{self.project_id}/testcases/batch-query"
        return self._result(self.http.post(url, json=body, idempotent=True))

    def iter_case_items(self, version_uri: str, *, test_types: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            result = self.list_cases(version_uri, page, test_types=test_types)
            yield from result.get("value") or []
            if not result.get("has_more"):
                return
            page += 1

    def show_case(self, case_uri: str, version_uri: str) -> dict[str, Any] | None:
        params = {"version_uri": version_uri, "project_uuid": self.project_id}
        try:
            return dict(self._value(self.http.get(f"/GT3KServer/v4/testcases/{case_uri}", params=params)) or {})
        except NotFound as exc:
            if exc.code == "APIG.0101":
                raise  # the route is not published: not a verdict on the case
            return None

    def create_case(self, version_uri: str, info: dict[str, Any]) -> dict[str, Any]:
        url = f"/GT3KServer/v4/versions/{version_uri}/testcases"
        return dict(self._value(self.http.post(url, json=info)) or {})

    def update_case(self, case_uri: str, info: dict[str, Any]) -> dict[str, Any]:
        url = f"/GT3KServer/v4/testcases/{case_uri}"
        return dict(self._value(self.http.put(url, json=info, idempotent=True)) or {})

    def delete_cases(self, version_uri: str, case_uris: Sequence[str]) -> None:
        if not 1 <= len(case_uris) <= DELETE_MAX:
            raise ValueError(f"case_ids: 1 to {DELETE_MAX} ids per batch delete")
        body = {"project_uuid": self.project_id, "version_uri": version_uri, "case_ids": list(case_uris)}
        self._result(self.http.request("DELETE", "/GT3KServer/v4/testcases/batch-delete", json=body, idempotent=True))

    # ---- iterations (v4 test plans) -----------------------------------------------------------------------
    def list_iterators(self, page_no: int, *, name: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"project_uuid": self.project_id, "page_no": page_no, "page_size": PAGE_SIZE}
        if name:
            body["name"] = name
        return self._result(self.http.post("/v4/iterators/info/batch-query", json=body, idempotent=True))

    def iter_iterators(self, *, name: str | None = None) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            result = self.list_iterators(page, name=name)
            yield from result.get("value") or []
            if not result.get("has_more"):
                return
            page += 1

    def create_iterator(self, branch_uri: str, info: dict[str, Any]) -> dict[str, Any]:
        body = {**info, "project_uuid": self.project_id}
        answer = self.http.post("/v4/iterators", params={"branch_uri": branch_uri}, json=body)
        return dict(self._value(answer) or {})

    def update_iterator(self, iterator_uri: str, info: dict[str, Any]) -> dict[str, Any]:
        body = {**info, "project_uuid": self.project_id}
        return dict(self._value(self.http.put(f"/v4/iterators/{iterator_uri}", json=body, idempotent=True)) or {})

    def add_to_iterator(self, iterator_uri: str, case_uris: Sequence[str]) -> None:
        if not 1 <= len(case_uris) <= ADD_MAX:
            raise ValueError(f"at most {ADD_MAX} cases per synchronous batch-add")
        body = {
            "project_uuid": self.project_id,
            "iterator_uri": iterator_uri,
            "simple_resourceinfo_list": [{"resource_id": uri} for uri in case_uris],
        }
        # adding a case that is in the iteration already changes nothing: safe to repeat
        self._result(self.http.post(f"/v4/iterators/{iterator_uri}/testcases/batch-add", json=body, idempotent=True))

    def remove_from_iterator(self, iterator_uri: str, case_uris: Sequence[str]) -> None:
        body = {
            "project_uuid": self.project_id,
            "iterator_uri": iterator_uri,
            "case_list": [{"id": uri} for uri in case_uris],
        }
        url = f"/GT3KServer/v4/iterators/{iterator_uri}/testcases/batch-delete"
        self._result(self.http.request("DELETE", url, json=body))

    def plan_journals(self, plan_id: str) -> Iterator[dict[str, Any]] | None:
        """The plan's operation history (v1 ``GET .../plans/{plan_id}/journals``; iterations are the test plans
        of that API): pages of 200 from a 0-based position. None when it runs past the last position the API
        takes (999): too long a history to see the end of, so the caller reads the plan itself."""
        entries: list[dict[str, Any]] = []
        offset = 0
        while True:
            params = {"offset": offset, "limit": JOURNAL_PAGE}
            url = f"/v1/projects/{self.project_id}/plans/{plan_id}/journals"
            page = self.http.json(self.http.get(url, params=params), list)
            entries.extend(e for e in page if isinstance(e, dict))
            if len(page) < JOURNAL_PAGE:
                return iter(entries)
            offset += JOURNAL_PAGE
            if offset > JOURNAL_OFFSET_MAX:
                return None

    def add_result(self, version_uri: str, case_uri: str, info: dict[str, Any]) -> dict[str, Any]:
        url = f"/v4/{self.project_id}/versions/{version_uri}/testcases/{case_uri}/results"
        return dict(self._value(self.http.post(url, json=info)) or {})
