"""Shared machinery of the simulators: faults, the request log, and serving on loopback.

Each system's simulator (``adapters/<kind>/simulator.py``) is an ASGI app with in-memory state that answers
like the real service. This module wraps it with what they all need:

- :class:`Faults`: latency, a requests-per-minute limit answered the way the system throttles, a share of
  5xx answers and of dropped connections, all adjustable while running (tests flip them on and off); and
  the faults the bridge's guarantees exist for: listings that leave out records that exist (a skipped page,
  a permission filter, eventual consistency), writes that are applied and then answered with a 500 or a
  dropped connection, and slow listing pages;
- :class:`RequestLog`: every request seen (method, path, query, status), with counters;
- :class:`LoopbackServer`: serves the app with uvicorn on 127.0.0.1 in a background thread (tests,
  benchmarks, the demo), and :func:`serve_forever` for ``testplan-bridge simulate``.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: (status, headers, body) a simulator answers with when throttling or failing
CannedResponse = tuple[int, dict[str, str], bytes]

#: the rate limit counts the requests served in the last minute
WINDOW_SECONDS = 60.0


@dataclass
class Faults:
    latency: float = 0.0  # seconds added to every request
    #: over this many requests in any 60 s, the system's throttling answer (a sliding window of served requests)
    requests_per_minute: int | None = None
    #: Retry-After seconds sent with forced throttling (``throttle_next``); the rate limit sends the seconds
    #: until its window frees a slot instead. None: the header is omitted either way
    retry_after: int | None = 1
    error_rate: float = 0.0  # share of requests answered with a 5xx
    drop_rate: float = 0.0  # share of requests whose connection is dropped mid-answer
    fail_next: int = 0  # the next N requests get a 5xx (a burst), then normal service
    fail_next_writes: int = 0  # the next N POST/PUT/PATCH/DELETE requests get a 5xx (reads are served)
    throttle_next: int = 0  # the next N requests are throttled, then normal service
    #: record ids (as strings) left out of every listing answer, while a direct read of one still finds it
    #: (what a skipped page or a filtered record looks like to a client)
    unlisted: set[str] = field(default_factory=set)
    #: ``unlisted`` and ``listing_latency`` apply to the listings of requests whose path or query contains
    #: this (e.g. ``get_cases``); empty: every listing
    listing_where: str = ""
    #: the next N writes are applied, then answered with ``lost_answer`` instead of their real answer
    lose_next_writes: int = 0
    lost_answer: str = "drop"  # "drop" (connection closed mid-answer) or "error" (a 5xx)
    listing_latency: float = 0.0  # seconds added to every listing answer (a slow page)
    seed: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)  # the rate window's clock
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _window: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def decide(self, method: str = "GET") -> str | None:
        """What happens to the next request: None (serve), 'throttle', 'error' or 'drop'."""
        with self._lock:
            if self.throttle_next > 0:
                self.throttle_next -= 1
                return "throttle"
            if self.fail_next > 0:
                self.fail_next -= 1
                return "error"
            if self.fail_next_writes > 0 and method in ("POST", "PUT", "PATCH", "DELETE"):
                self.fail_next_writes -= 1
                return "error"
            if self.requests_per_minute:
                now = self.clock()
                self._expire(now)
                if len(self._window) >= self.requests_per_minute:
                    return "throttle"
                self._window.append(now)
            if self.error_rate and self._rng.random() < self.error_rate:
                return "error"
            if self.drop_rate and self._rng.random() < self.drop_rate:
                return "drop"
        return None

    def take_lost_write(self, method: str) -> bool:
        """Whether this write is to be applied and its answer lost (counts one of ``lose_next_writes``)."""
        with self._lock:
            if self.lose_next_writes > 0 and method in ("POST", "PUT", "PATCH", "DELETE"):
                self.lose_next_writes -= 1
                return True
        return False

    def retry_after_now(self) -> int | None:
        """The Retry-After a throttling answer carries now, in whole seconds (None: no header).

        TestRail documents the header as "how many seconds to wait before you are allowed to submit the next
        request", so when the rate window is full it is the time until its oldest request leaves the window,
        rounded up (delta-seconds are integers; at least 1, since a full window frees no slot at once).
        """
        if self.retry_after is None:
            return None
        with self._lock:
            if self.requests_per_minute:
                now = self.clock()
                self._expire(now)
                if len(self._window) >= self.requests_per_minute:
                    return max(1, math.ceil(WINDOW_SECONDS - (now - self._window[0])))
        return self.retry_after

    def _expire(self, now: float) -> None:
        while self._window and now - self._window[0] >= WINDOW_SECONDS:
            self._window.popleft()


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int


class RequestLog:
    """Every request a simulator saw; tests and benchmarks read counts from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.entries.append(entry)

    def count(self, method: str | None = None, contains: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for e in self.entries
                if (method is None or e.method == method)
                and (contains is None or contains in e.path or contains in e.query)
            )

    def counter(self) -> Counter[str]:
        with self._lock:
            return Counter(f"{e.method} {e.path}" for e in self.entries)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


class _Dropped(Exception):
    """Raised after the response started, so the server closes the connection mid-answer."""


def with_faults_and_log(
    app: ASGIApp,
    faults: Faults,
    log: RequestLog,
    *,
    throttled: Callable[[Faults], CannedResponse],
    server_error: Callable[[], CannedResponse],
) -> ASGIApp:
    """Wrap a simulator app with fault injection and request logging."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status_seen = {"status": 0}
        logged = False
        query = scope.get("query_string", b"").decode("latin-1")

        def record(status: int) -> None:
            nonlocal logged
            if not logged:
                logged = True
                log.add(LoggedRequest(scope["method"], scope["path"], query, status))

        async def logging_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
                # logged before the answer leaves, so a client that got its answer finds it in the log
                record(message["status"])
            await send(message)

        try:
            if faults.latency:
                await asyncio.sleep(faults.latency)
            decision = faults.decide(scope["method"])
            if decision == "throttle":
                await _send_canned(logging_send, throttled(faults))
            elif decision == "error":
                await _send_canned(logging_send, server_error())
            elif decision == "drop":
                record(-1)
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise _Dropped()
            elif faults.take_lost_write(scope["method"]) and not _is_read(scope):
                # the write is applied; its answer never reaches the client
                await app(scope, receive, _discard)
                if faults.lost_answer == "error":
                    await _send_canned(logging_send, server_error())
                else:
                    record(-1)
                    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
                    await send({"type": "http.response.body", "body": b"{", "more_body": True})
                    raise _Dropped()
            elif _is_read(scope) and (faults.unlisted or faults.listing_latency):
                await _listing(app, scope, receive, logging_send, faults, query)
            else:
                await app(scope, receive, logging_send)
        finally:
            record(status_seen["status"])

    return wrapped


def _is_read(scope: Scope) -> bool:
    """GETs, and the POSTs some systems read lists with (CodeArts' ``.../batch-query``)."""
    return scope["method"] == "GET" or (scope["method"] == "POST" and scope["path"].endswith("batch-query"))


async def _discard(message: dict[str, Any]) -> None:
    return None


#: the keys a listed record's identity is under: most systems' ``id``; CodeArts' native library's ``uri``
RECORD_KEYS = ("id", "uri")


def _record_id(item: dict[str, Any]) -> str:
    return str(next(item[k] for k in RECORD_KEYS if k in item))


def _is_listing(body: Any) -> list[list[Any]]:
    """The lists of records in an answer: the answer itself, or a list under one of its top-level keys
    (``{"cases": [...]}``, ``{"values": [...]}``, ``{"data": [...]}``) or one level further down (CodeArts'
    ``{"status": ..., "result": {"value": [...]}}`` envelope). A single record is no listing."""

    def lists_in(node: Any) -> list[Any]:
        return [node] if isinstance(node, list) else list(node.values()) if isinstance(node, dict) else []

    candidates = lists_in(body)
    candidates += [inner for c in candidates if isinstance(c, dict) for inner in c.values()]
    return [
        c
        for c in candidates
        if isinstance(c, list) and c and all(isinstance(i, dict) and any(k in i for k in RECORD_KEYS) for i in c)
    ]


async def _listing(app: ASGIApp, scope: Scope, receive: Receive, send: Send, faults: Faults, query: str) -> None:
    """Serve a read; when its answer is a listing, leave out the unlisted records and add the listing delay."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def keep(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    lists = _is_listing(body)
    where = faults.listing_where
    if lists and (not where or where in scope["path"] or where in query):
        if faults.unlisted:
            for items in lists:
                items[:] = [i for i in items if _record_id(i) not in faults.unlisted]
            raw = json.dumps(body).encode()
        if faults.listing_latency:
            await asyncio.sleep(faults.listing_latency)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(raw)).encode()))
    await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
    await send({"type": "http.response.body", "body": raw})


async def _send_canned(send: Send, canned: CannedResponse) -> None:
    status, headers, body = canned
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Simulator:
    """Base of the simulators: state lives in the subclass; this holds faults, log and serving."""

    system: ClassVar[str]

    def __init__(self, *, seed: int | None = None, faults: Faults | None = None) -> None:
        self.seed = seed
        self.faults = faults or Faults()
        self.log = RequestLog()
        self._app: ASGIApp | None = None

    # subclasses implement these three
    def build_app(self) -> ASGIApp:
        raise NotImplementedError

    def throttled(self, faults: Faults) -> CannedResponse:
        headers = {"Content-Type": "application/json"}
        wait = faults.retry_after_now()
        if wait is not None:
            headers["Retry-After"] = str(wait)
        return 429, headers, b'{"error": "API rate limit exceeded"}'

    def server_error(self) -> CannedResponse:
        return 500, {"Content-Type": "application/json"}, b'{"error": "Internal server error"}'

    def credentials(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            self._app = with_faults_and_log(
                self.build_app(), self.faults, self.log, throttled=self.throttled, server_error=self.server_error
            )
        return self._app

    def serve(self, port: int = 0) -> LoopbackServer:
        """A started server on 127.0.0.1 (use as a context manager, or call ``stop()``)."""
        return LoopbackServer(self.app, port=port).start()

    def info(self, url: str) -> dict[str, Any]:
        """The first line ``testplan-bridge simulate`` prints: system, url and credentials."""
        return {"system": self.system, "url": url, "credentials": self.credentials()}


class LoopbackServer:
    """uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: ASGIApp, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # small answers are written as two segments (head, body): without NODELAY, Nagle + delayed ACK add ~40 ms
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="error", access_log=False, lifespan="off", timeout_keep_alive=30, backlog=512
        )
        self._server = uvicorn.Server(config)
        # uvicorn only captures signals in the main thread, so the host process keeps its own handlers
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"sim:{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"simulator on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(sim: Simulator, port: int) -> None:
    """Serve until interrupted; the first stdout line is the JSON the simulator contract promises."""
    server = LoopbackServer(sim.app, port=port).start()
    print(json.dumps(sim.info(server.url)), flush=True)
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    sys.stdout.flush()
