"""TestRail API v2 over the shared HTTP layer: URLs, Basic auth, pagination and error mapping.

The route lives in the query string (``index.php?/api/v2/get_cases/1&suite_id=2``), so URLs are built as
strings here rather than with httpx ``params`` (which would re-encode the route).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, unquote

import httpx

from adapters.testrail.settings import TestRailSettings
from bridge.errors import (
    AuthError,
    MissingRoute,
    NotFound,
    PermissionDenied,
    RemoteError,
    ServerError,
    ValidationFailed,
)
from bridge.http import HttpClient
from bridge.overlap import PagesAtOnce
from bridge.redact import register_basic_auth

PAGE_SIZE = 250  # TestRail's maximum page size
#: pages of one listing asked for at once (:meth:`TestRailClient.pages_at_once`): a listing of 2,000 cases
#: costs 5 round trips instead of 8, and at most 2 pages past its end
PAGES_AT_ONCE = 3
API = "index.php?/api/v2/"
_REQUIRED = re.compile(r"Field :(\w+) is a required field")
_UNKNOWN_ID = re.compile(r"is not a valid (?:or accessible )?(?!\w+ format)", re.I)


def route_of(request: httpx.Request) -> str:
    """``get_cases`` for ``index.php?/api/v2/get_cases/1&suite_id=2`` (ids and filters left out)."""
    query = unquote(request.url.query.decode() if isinstance(request.url.query, bytes) else str(request.url.query))
    if query.startswith("/api/v2/"):
        return query[len("/api/v2/") :].split("&", 1)[0].split("/", 1)[0]
    return request.url.path


def error_message(response: httpx.Response) -> str:
    """TestRail's own words: the ``error`` member of the JSON body, else the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text.strip()[:500]


def error_for(response: httpx.Response, route: str) -> RemoteError | None:
    """Typed errors with TestRail's message, the route and what to do."""
    status = response.status_code
    message = error_message(response)
    kw: dict[str, Any] = {"system": "testrail", "method": response.request.method, "route": route, "status": status}
    if status == 401:
        return AuthError(
            message,
            hint="Check user and api_key (My Settings > API Keys) and that the API is enabled "
            "(Administration > Site Settings > API).",
            **kw,
        )
    if status == 403:
        return PermissionDenied(message, hint="The TestRail user lacks access to this project or operation.", **kw)
    if status == 404:
        # TestRail answers 404 for an API method it does not know, never for a missing record (that is a 400):
        # so a 404 is a route problem and must never read as "the case was deleted"
        return MissingRoute(
            message,
            hint="The TestRail server does not know this API method: check the url (the address you open "
            "TestRail at, without index.php) and the TestRail version.",
            **kw,
        )
    if status == 409:
        return ServerError(message, hint="TestRail is in maintenance mode; try again later.", **kw)
    if status == 400:
        required = _REQUIRED.search(message)
        if required and required.group(1).startswith("custom_"):
            name = required.group(1)
            return ValidationFailed(
                message,
                hint=f"The TestRail project requires the custom case field {name!r}. Give it a value (case custom "
                f"values or a job value map), or make it optional in TestRail (Administration > Customizations).",
                **kw,
            )
        if route.startswith("get_") and _UNKNOWN_ID.search(message):
            return NotFound(message, **kw)
        return ValidationFailed(message, **kw)
    return None


#: keys the adapter reads from the records of each method's answer without a default: an answer without them
#: is refused as UnexpectedAnswer naming the record, instead of a KeyError deep in a conversion
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "get_projects": ("id", "name"),
    "get_suites": ("id",),
    "get_sections": ("id", "name"),
    "add_section": ("id",),
    "get_cases": ("id", "section_id"),
    "get_case": ("id", "section_id"),
    "add_case": ("id", "section_id"),
    "update_case": ("id", "section_id"),
    "get_case_fields": ("system_name",),
    "get_statuses": ("id", "name"),
    "get_configs": ("id", "name"),
    "get_milestones": ("id", "name"),
    "get_users": ("id",),
    "get_plans": ("id",),
    "get_plan": ("id",),
    "add_plan": ("id",),
    "close_plan": ("id",),
    "get_runs": ("id",),
    "get_tests": ("id", "case_id"),
    "get_results_for_run": ("id", "test_id"),
    "add_results_for_cases": ("id",),
}
#: methods that answer a bare array (no pagination)
ARRAY_METHODS = frozenset({"get_suites", "get_statuses", "get_priorities", "get_case_fields", "get_configs"})
#: bulk reads: a page object since TestRail 6.7, a bare array before
PAGED_METHODS = frozenset(
    {
        "get_cases",
        "get_runs",
        "get_plans",
        "get_tests",
        "get_results",
        "get_results_for_case",
        "get_results_for_run",
        "get_sections",
        "get_projects",
        "get_milestones",
        "get_history_for_case",
        "get_users",
        "get_labels",
    }
)


class TestRailClient:
    """Thin, typed access to the endpoints the adapter uses."""

    __test__ = False

    def __init__(self, settings: TestRailSettings, *, http: HttpClient | None = None) -> None:
        secret = settings.secret()
        register_basic_auth(settings.user, secret)
        self.http = http or HttpClient(
            "testrail",
            settings.http_settings(),
            auth=httpx.BasicAuth(settings.user, secret),
            # clients send the JSON content type on every request; TestRail requires it on POST
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            route_of=route_of,
            error_for=error_for,
        )

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def url(method: str, *ids: int | str, **filters: Any) -> str:
        path = "/".join([method, *(str(i) for i in ids)])
        parts = [f"{API}{path}"]
        for key, value in filters.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, (list, tuple, set)):
                value = ",".join(str(v) for v in value)
            parts.append(f"{key}={quote(str(value), safe=',')}")
        return "&".join(parts)

    def get(self, method: str, *ids: int | str, **filters: Any) -> Any:
        response = self.http.get(self.url(method, *ids, **filters))
        return self._checked(method, response, self.http.json(response, (dict, list)))

    def post(self, method: str, *ids: int | str, body: Mapping[str, Any] | None = None) -> Any:
        response = self.http.post(self.url(method, *ids), json=dict(body or {}))
        answer = self.http.json(response, (dict, list)) if response.content.strip() else {}
        return self._checked(method, response, answer) if answer else answer

    def _checked(self, method: str, response: httpx.Response, answer: Any) -> Any:
        """The records of an answer checked for the keys the adapter reads (see REQUIRED_KEYS)."""
        keys = REQUIRED_KEYS.get(method, ())
        what = method.split("_", 1)[-1].rstrip("s") or "record"
        lists = method in ARRAY_METHODS or method in PAGED_METHODS or method.startswith("add_results")
        if isinstance(answer, list):
            if not lists:
                raise self.http.shape_error(response, f"{method} answered an array where one {what} is expected")
            return self.http.records(response, answer, keys, what=what)
        if method in ARRAY_METHODS:
            raise self.http.shape_error(response, f"{method} answered an object where an array is expected")
        if method in PAGED_METHODS:
            return answer  # a page: its records are checked by pages()
        return self.http.record(response, answer, keys, what=what)

    def pages(self, method: str, key: str, *ids: int | str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Every page of a bulk read, however the server paginates.

        Since TestRail 6.7 bulk reads answer ``{..., "_links": {"next": ...}, key: [...]}`` and we follow
        ``next``; older servers answer a bare array, which we page through by ``offset`` until a short page.
        """
        offset = 0
        url = self.url(method, *ids, **filters, limit=PAGE_SIZE, offset=0)
        while True:
            records, nxt, more = self._page(self.http.get(url), method, key)
            yield records
            del records  # freed before the next page is read (see TestPlanItClient.pages)
            if not more:
                return
            if nxt:
                url = API + nxt.removeprefix("/").removeprefix("api/v2/")
            else:  # legacy: a bare array, paged by offset
                offset += PAGE_SIZE
                url = self.url(method, *ids, **filters, limit=PAGE_SIZE, offset=offset)

    def _page(self, response: httpx.Response, method: str, key: str) -> tuple[list[dict[str, Any]], str | None, bool]:
        """A bulk read's answer: its records, the server's link to the next page (6.7+: ``{..., "_links":
        {"next": ...}, key: [...]}``), and whether more follow (before 6.7, a bare array: a full page)."""
        body = self.http.json(response, (dict, list))
        if isinstance(body, dict) and key in body:
            items, nxt = body[key] or [], (body.get("_links") or {}).get("next") or None
            more = bool(nxt)
        elif isinstance(body, list):
            items, nxt, more = body, None, len(body) >= PAGE_SIZE
        else:
            raise self.http.shape_error(response, f"{method} answered neither a page with {key!r} nor an array")
        return self.http.records(response, items, REQUIRED_KEYS.get(method, ()), what=key[:-1]), nxt, more

    def page_at(
        self, method: str, key: str, *ids: int | str, offset: int, **filters: Any
    ) -> tuple[list[dict[str, Any]], bool]:
        """The page of a bulk read at ``offset``, and whether the server says more follow (``_links.next``;
        before TestRail 6.7, a full page)."""
        records, _, more = self._page(
            self.http.get(self.url(method, *ids, **filters, limit=PAGE_SIZE, offset=offset)), method, key
        )
        return records, more

    def pages_at_once(
        self, method: str, key: str, *ids: int | str, at_once: int = PAGES_AT_ONCE, first: int = 1, **filters: Any
    ) -> PagesAtOnce[dict[str, Any]]:
        """Every page of a bulk read, up to ``at_once`` asked for together (see :class:`PagesAtOnce`: only for
        a listing nothing changes during). TestRail's ``_links.next`` is the url with the next ``offset``
        (6.7+), and older servers are paged by ``offset``, so the pages' urls are known before their answers."""

        def read(offset: int) -> tuple[list[dict[str, Any]], bool]:
            return self.page_at(method, key, *ids, offset=offset, **filters)

        return PagesAtOnce(read, page_size=PAGE_SIZE, at_once=at_once, first=first, name=f"testrail-{method}")

    def all(self, method: str, key: str, *ids: int | str, **filters: Any) -> list[dict[str, Any]]:
        return [item for page in self.pages(method, key, *ids, **filters) for item in page]

    def array(self, method: str, *ids: int | str, **filters: Any) -> list[dict[str, Any]]:
        """Endpoints that answer a bare array (suites, statuses, priorities, case fields, configs)."""
        response = self.http.get(self.url(method, *ids, **filters))
        body = self.http.json(response, list)
        return self.http.records(response, body, REQUIRED_KEYS.get(method, ()), what=method.split("_", 1)[-1][:-1])
