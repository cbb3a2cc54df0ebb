"""HTTP access to TestPlanIt's model API (``/api/model/{model}/{op}``) and its error shapes.

Reads are ``GET`` with ``?q=<JSON Prisma args>``; creates ``POST``; updates ``PATCH``; deletes ``DELETE`` with
``?q=`` (the real server ignores a DELETE body). Answers are ``{"data": ...}``; superjson ``meta`` only lists
which paths hold dates, and dates are ISO strings already, so it is not needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx

from bridge.errors import (
    AuthError,
    MissingRoute,
    NotFound,
    PermissionDenied,
    RemoteError,
    UniqueViolation,
    ValidationFailed,
)
from bridge.http import HttpClient, HttpSettings
from bridge.redact import register_secret

SYSTEM = "testplanit"
_INVOCATION = re.compile(r"Invalid `prisma\.(\w+)\.(\w+)\(\)` invocation")


def trim_message(message: str) -> str:
    """What a person needs from a Prisma error: the model/op and the last paragraph, without the query dump."""
    text = message.strip()
    where = _INVOCATION.search(text)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    tail = paragraphs[-1] if paragraphs else text
    if where and tail.startswith("Invalid `prisma"):
        tail = "invalid request"
    tail = tail.replace("`", "").replace('"', "")
    tail = re.sub(r"\s+", " ", tail)
    if len(tail) > 300:
        tail = tail[:300] + "..."
    return f"{where.group(1)}.{where.group(2)}: {tail}" if where else tail


def error_for(response: httpx.Response, route: str) -> RemoteError | None:
    """Map the server's error bodies to typed errors; None leaves 5xx and odd bodies to the generic mapping."""
    status = response.status_code
    if status >= 500:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    kw: dict[str, Any] = {"system": SYSTEM, "method": response.request.method, "route": route, "status": status}
    if isinstance(error, str):  # token middleware: {"error": "Invalid API token", "code": "INVALID_TOKEN"}
        if status == 401:
            return AuthError(
                error,
                code=body.get("code"),
                hint="Check the TestPlanIt API token (tpi_...): it must exist, be active and belong to an active "
                "user with API access.",
                **kw,
            )
        return None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    message = trim_message(str(error.get("message") or error.get("reason") or f"HTTP {status}"))
    if code == "P2002":
        return UniqueViolation(message, code=code, hint="A record with the same unique key exists already.", **kw)
    if code == "P2025":  # Prisma's "record to update/delete not found": the record is gone
        return NotFound(message, code=code, **kw)
    if status == 404:  # a 404 that is not Prisma's names no record: an unknown model or route
        return MissingRoute(message, code=code, hint="Check the TestPlanIt url and the server version.", **kw)
    if error.get("rejectedByPolicy") or status == 403:
        return PermissionDenied(
            message, code=code, hint="The token's user lacks permission for this operation in the project.", **kw
        )
    if status in (400, 422):
        if error.get("zodErrors"):
            message = f"{message} ({json.dumps(error['zodErrors'])[:200]})"
        return ValidationFailed(message, code=code, **kw)
    return None


class TestPlanItClient:
    """Thin typed access to the model API over the shared :class:`HttpClient`."""

    __test__ = False

    def __init__(self, settings: HttpSettings, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        register_secret(token)
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = HttpClient(SYSTEM, settings, headers=headers, error_for=error_for, transport=transport)

    def close(self) -> None:
        self.http.close()

    def read(self, model: str, op: str, args: dict[str, Any] | None = None) -> Any:
        response = self.http.get(f"/api/model/{model}/{op}", params={"q": json.dumps(args or {})})
        return self._data(response, op, args or {})

    def create(self, model: str, args: dict[str, Any], *, op: str = "create") -> Any:
        return self._data(self.http.post(f"/api/model/{model}/{op}", json=args), op, args)

    def update(self, model: str, args: dict[str, Any], *, op: str = "update", idempotent: bool = False) -> Any:
        response = self.http.patch(f"/api/model/{model}/{op}", json=args, idempotent=idempotent)
        return self._data(response, op, args)

    def _data(self, response: httpx.Response, op: str, args: dict[str, Any]) -> Any:
        """``data`` of an answer, checked for the shape the operation answers with: a list of rows (findMany),
        a row or null (findFirst/findUnique), a row (create/update/upsert), each row with its ``id`` unless the
        query selected other fields only."""
        body = self.http.json(response, dict)
        if "data" not in body:
            raise self.http.shape_error(response, "the answer has no 'data'")
        data = body["data"]
        select = args.get("select")
        keys = ("id",) if not isinstance(select, dict) or select.get("id") else ()
        if op == "findMany":
            return self.http.records(response, data, keys, what="row")
        if op in ("findFirst", "findUnique"):
            return None if data is None else self.http.record(response, data, keys, what="row")
        if op in ("create", "update", "upsert"):
            return self.http.record(response, data, keys, what="row")
        return data  # count, aggregate, createMany/updateMany ({"count": N}): read by the caller

    def delete(self, model: str, args: dict[str, Any], *, op: str = "delete") -> Any:
        response = self.http.delete(f"/api/model/{model}/{op}", params={"q": json.dumps(args)})
        return self.http.json(response, dict).get("data")

    def pages(self, model: str, args: dict[str, Any], *, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """``findMany`` page by page with an id cursor (stable while rows are added; no total needed)."""
        cursor: int | None = None
        while True:
            page_args = {**args, "orderBy": {"id": "asc"}, "take": page_size}
            if cursor is not None:
                page_args.update(cursor={"id": cursor}, skip=1)
            rows = self.read(model, "findMany", page_args) or []
            full, cursor = len(rows) >= page_size, rows[-1]["id"] if rows else None
            if rows:
                yield rows
            # a page's rows are freed before the next page is read, not after (a page of cases with their
            # steps, tags and field values is megabytes of objects); callers that drop it too (itertools.chain
            # lets go of a page it has gone through) keep one page at a time
            del rows
            if not full:
                return
