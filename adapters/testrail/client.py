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
    NotFound,
    PermissionDenied,
    RemoteError,
    ServerError,
    UnexpectedAnswer,
    ValidationFailed,
)
from bridge.http import HttpClient
from bridge.redact import register_basic_auth

PAGE_SIZE = 250  # TestRail's maximum page size
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
        return NotFound(message, hint="The TestRail server does not know this API method (old version?).", **kw)
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
        return self.http.json(self.http.get(self.url(method, *ids, **filters)), (dict, list))

    def post(self, method: str, *ids: int | str, body: Mapping[str, Any] | None = None) -> Any:
        response = self.http.post(self.url(method, *ids), json=dict(body or {}))
        return self.http.json(response, (dict, list)) if response.content.strip() else {}

    def pages(self, method: str, key: str, *ids: int | str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Every page of a bulk read, however the server paginates.

        Since TestRail 6.7 bulk reads answer ``{..., "_links": {"next": ...}, key: [...]}`` and we follow
        ``next``; older servers answer a bare array, which we page through by ``offset`` until a short page.
        """
        offset = 0
        url = self.url(method, *ids, **filters, limit=PAGE_SIZE, offset=0)
        while True:
            body = self.http.json(self.http.get(url), (dict, list))
            if isinstance(body, dict) and key in body:
                yield list(body[key] or [])
                nxt = (body.get("_links") or {}).get("next")
                if not nxt:
                    return
                url = API + nxt.removeprefix("/").removeprefix("api/v2/")
                continue
            if isinstance(body, list):  # legacy: a bare array
                yield body
                if len(body) < PAGE_SIZE:
                    return
                offset += PAGE_SIZE
                url = self.url(method, *ids, **filters, limit=PAGE_SIZE, offset=offset)
                continue
            raise UnexpectedAnswer(
                f"unexpected answer to {method}: neither a page with {key!r} nor an array",
                system="testrail",
                route=method,
            )

    def all(self, method: str, key: str, *ids: int | str, **filters: Any) -> list[dict[str, Any]]:
        return [item for page in self.pages(method, key, *ids, **filters) for item in page]

    def array(self, method: str, *ids: int | str, **filters: Any) -> list[dict[str, Any]]:
        """Endpoints that answer a bare array (suites, statuses, priorities, case fields, configs)."""
        body = self.get(method, *ids, **filters)
        return list(body) if isinstance(body, list) else []
