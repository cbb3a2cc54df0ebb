"""A tiny scripted HTTP server for the HTTP-layer tests (a starlette app served on loopback).

Each path answers with the responses queued for it (status, headers, body), in order, then 200. Every
arrival is recorded with its monotonic time on the server side, so tests measure retries, backoff and
pacing where they really happen.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DROP = -1  # a queued "status" that drops the connection in the middle of the answer
CHUNKED = -2  # a queued "status": 200 with the body sent in chunks, without a Content-Length
DRIP = -3  # a queued "status": 200 with the body sent one small piece every 0.1 s


@dataclass
class Arrival:
    method: str
    path: str
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    queued: dict[str, deque[tuple[int, dict[str, str], bytes]]] = field(default_factory=lambda: defaultdict(deque))
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queue(self, path: str, *answers: int | tuple[int, dict[str, str]] | tuple[int, dict[str, str], bytes]) -> None:
        with self.lock:
            for answer in answers:
                if isinstance(answer, int):
                    answer = (answer, {})
                status, headers, *rest = answer
                body = rest[0] if rest else f'{{"error": "scripted {status}"}}'.encode()
                self.queued[path].append((status, headers, body))

    def seen(self, path: str | None = None) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if path is None or a.path == path]

    def gaps(self, path: str | None = None) -> list[float]:
        times = sorted(a.at for a in self.seen(path))
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def reset(self) -> None:
        with self.lock:
            self.queued.clear()
            self.arrivals.clear()


def build_app(script: Script) -> Starlette:
    async def endpoint(request: Request) -> Response:
        arrived = time.monotonic()
        body = await request.body()
        path = request.url.path
        with script.lock:
            script.arrivals.append(Arrival(request.method, path, arrived, dict(request.headers), body))
            answer = script.queued[path].popleft() if script.queued[path] else None
        if answer is None:
            return JSONResponse({"ok": True, "path": path, "method": request.method})
        status, headers, payload = answer
        if status == DROP:

            async def broken() -> AsyncIterator[bytes]:
                yield b'{"partial": '
                raise ConnectionAbortedError("dropped on purpose by the test server")

            return StreamingResponse(broken(), media_type="application/json")
        if status in (CHUNKED, DRIP):
            size = 8192 if status == CHUNKED else 2

            async def pieces() -> AsyncIterator[bytes]:
                for i in range(0, len(payload), size):
                    if status == DRIP:
                        await asyncio.sleep(0.1)
                    yield payload[i : i + size]

            return StreamingResponse(pieces(), media_type="application/json")
        if callable(headers.get("Retry-After")):  # computed when answering (HTTP dates)
            headers = {**headers, "Retry-After": headers["Retry-After"]()}  # type: ignore[operator]
        return Response(payload, status_code=status, headers=headers, media_type="application/json")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{rest:path}", endpoint, methods=methods)])
