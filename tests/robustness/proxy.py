"""A misbehaving proxy on loopback, in front of a real simulator: what a broken network or a hostile middlebox
answers instead of the API.

Every request is forwarded unchanged until the armed :class:`Sabotage` matches (the Nth request of a method
whose TestRail route contains a word); from then on the proxy answers that request its way, and optionally the
ones after it too. It records what it forwarded, so a test can tell exactly which writes reached the system
after the point of failure.

Kinds of misbehaviour:

- ``html``: a login page with status 200 (not forwarded: the proxy intercepts);
- ``truncated``: forwarded, and the system's answer cut in the middle;
- ``wrong-shape``: forwarded, and the answer replaced by JSON of another shape (an object becomes a list);
- ``redirect``: 302 to another host (not forwarded); the other host counts what reaches it;
- ``slow``: forwarded, and the answer held back for ``delay`` seconds (longer than the client waits);
- ``401``: TestRail's "authentication failed" (not forwarded), for this request and every later one;
- ``huge``: status 200 and a JSON body of ``size`` bytes, streamed without a Content-Length.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass
class Sabotage:
    kind: str
    method: str = "POST"
    route: str = ""  # a word the request's path or query must contain (TestRail: the API method)
    nth: int = 1  # the first matching request that is sabotaged (1 = the first one)
    sticky: bool = False  # every request after it is sabotaged too
    delay: float = 3.0
    size: int = 8 * 1024 * 1024
    redirect_to: str = ""


@dataclass
class Forwarded:
    method: str
    route: str
    at: float
    sabotaged: bool


@dataclass
class Proxy:
    upstream: str
    sabotage: Sabotage | None = None
    seen: list[Forwarded] = field(default_factory=list)
    matches: int = 0
    tripped_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, sabotage: Sabotage | None) -> None:
        with self.lock:
            self.sabotage, self.matches, self.tripped_at = sabotage, 0, None

    def writes_after_failure(self) -> list[Forwarded]:
        """Writes the proxy passed on to the system after it sabotaged its first request."""
        with self.lock:
            if self.tripped_at is None:
                return []
            return [f for f in self.seen if f.method != "GET" and not f.sabotaged and f.at > self.tripped_at]

    def _decide(self, method: str, route: str) -> Sabotage | None:
        with self.lock:
            s = self.sabotage
            if s is None:
                return None
            if self.tripped_at is not None and s.sticky:
                return s
            if method != s.method or s.route not in route or self.tripped_at is not None:
                return None
            self.matches += 1
            if self.matches < s.nth:
                return None
            self.tripped_at = time.monotonic()
            return s

    def app(self) -> Starlette:
        client = httpx.AsyncClient(base_url=self.upstream, timeout=30)

        async def forward(request: Request) -> httpx.Response:
            body = await request.body()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return await client.request(request.method, url, content=body, headers=headers)

        async def endpoint(request: Request) -> Response:
            route = unquote(request.url.path + "?" + request.url.query)
            sabotage = self._decide(request.method, route)
            intercepted = sabotage is not None and sabotage.kind in ("html", "redirect", "401", "huge")
            with self.lock:
                self.seen.append(Forwarded(request.method, route, time.monotonic(), sabotage is not None))
            if intercepted:
                assert sabotage is not None
                return _intercept(sabotage)
            answer = await forward(request)
            ctype = answer.headers.get("content-type", "application/json")
            if sabotage is None:
                return Response(answer.content, status_code=answer.status_code, media_type=ctype)
            if sabotage.kind == "truncated":
                return Response(answer.content[: max(1, len(answer.content) // 2)], media_type=ctype)
            if sabotage.kind == "wrong-shape":
                return JSONResponse([answer.json()] if answer.content.startswith(b"{") else {"items": answer.json()})
            if sabotage.kind == "slow":
                await asyncio.sleep(sabotage.delay)
                return Response(answer.content, status_code=answer.status_code, media_type=ctype)
            raise AssertionError(f"unknown sabotage {sabotage.kind}")

        return Starlette(routes=[Route("/{rest:path}", endpoint, methods=METHODS)])


def _intercept(s: Sabotage) -> Response:
    if s.kind == "html":
        page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Corporate proxy login</form>"
        return Response(page, status_code=200, media_type="text/html")
    if s.kind == "redirect":
        return Response(b"", status_code=302, headers={"Location": s.redirect_to})
    if s.kind == "401":
        return JSONResponse(
            {"error": "Authentication failed: invalid or missing user/password or session cookie."}, 401
        )
    if s.kind == "huge":

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"offset": 0, "limit": 250, "size": 1, "cases": ['
            piece = b'{"id": 1, "title": "' + b"x" * 65000 + b'"},'
            for _ in range(s.size // len(piece)):
                yield piece
            yield b'{"id": 2}]}'

        return StreamingResponse(chunks(), media_type="application/json")
    raise AssertionError(f"unknown sabotage {s.kind}")


class Elsewhere:
    """Another host a redirect points to: it counts what reaches it (nothing must)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            self.requests.append((request.method, str(request.url), dict(request.headers)))
            return JSONResponse({"captured": True})

        return Starlette(routes=[Route("/{rest:path}", endpoint, methods=METHODS)])
