"""The HTTP layer every adapter talks through.

One :class:`HttpClient` per configured system. It adds, around httpx:

- timeouts, and TLS verification on unless the config turns it off explicitly (with a warning);
- retries with exponential backoff and jitter (tenacity) on connection errors and 5xx answers;
- throttling answers (429, or what an adapter says is throttling, e.g. CodeArts ``APIG.0308``) waited out:
  ``Retry-After`` in seconds or as an HTTP date is honoured, and without it the backoff applies;
- client-side pacing to a configured number of requests per minute, so we stay below a limit instead of
  bouncing off it;
- per-system request counters (method, route, status) used by benchmarks and the daemon's ``/metrics``;
- redaction of secrets in logs and error text, and optional recording of the exchanges to a vcrpy
  cassette with credentials filtered out (for bug reports).

Writes that are not idempotent (POST creates) are not repeated after a failure that may have reached the
server: the caller gets :class:`~bridge.errors.TransportError` with ``maybe_applied=True`` and must look the
record up by its marker first (see SYNC-NOTES: duplicates after crashes).
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from bridge import __version__
from bridge.errors import (
    RateLimited,
    RemoteError,
    ServerError,
    TransportError,
    UnexpectedAnswer,
    error_class_for_status,
)
from bridge.redact import SECRET_HEADERS, redact

log = logging.getLogger("bridge.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass
class HttpSettings:
    base_url: str
    timeout: float = 30.0
    verify_tls: bool = True
    requests_per_minute: float | None = None
    max_retries: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    #: a Retry-After longer than this is not waited out: the request fails as RateLimited instead
    max_retry_after: float = 300.0
    #: path of a vcrpy cassette to record every exchange to (credentials filtered)
    record_cassette: str | None = None
    user_agent: str = f"testplan-bridge/{__version__}"
    #: the configured system name ([systems.<name>]) the request counters are kept under; default: the kind
    label: str | None = None


# --------------------------------------------------------------------------------------------- counters


@dataclass(frozen=True)
class RequestKey:
    system: str
    method: str
    route: str
    status: int  # 0 = no answer


class RequestStats:
    """Thread-safe request counters, per system, method, route and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[RequestKey] = Counter()
        self.seconds: dict[str, float] = {}

    def add(self, key: RequestKey, elapsed: float) -> None:
        with self._lock:
            self.counts[key] += 1
            self.seconds[key.system] = self.seconds.get(key.system, 0.0) + elapsed

    def total(self, system: str | None = None, *, method: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for k, n in self.counts.items()
                if (system is None or k.system == system) and (method is None or k.method == method)
            )

    def errors(self, system: str | None = None) -> int:
        """Answers with status >= 400 plus requests that got no answer at all."""
        with self._lock:
            return sum(
                n
                for k, n in self.counts.items()
                if (system is None or k.system == system) and (k.status >= 400 or k.status == 0)
            )

    def by_route(self, system: str | None = None) -> dict[str, int]:
        out: Counter[str] = Counter()
        with self._lock:
            for k, n in self.counts.items():
                if system is None or k.system == system:
                    out[f"{k.method} {k.route}"] += n
        return dict(out)

    def snapshot(self) -> dict[RequestKey, int]:
        with self._lock:
            return dict(self.counts)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.seconds.clear()


#: the process-wide counters (benchmarks and /metrics read these)
STATS = RequestStats()


# ----------------------------------------------------------------------------------------------- pacing


class Pacer:
    """Spaces requests evenly so that no more than ``per_minute`` start in any minute."""

    def __init__(self, per_minute: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until the next request may start; returns the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)

    def push_back(self, seconds: float) -> None:
        """After a throttling answer, hold every later request back too, not only the retried one."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


_NUMBER_SEGMENT = re.compile(r"/(\d+|[0-9a-f]{32}|[0-9a-f-]{36})(?=/|$)")


def default_route(request: httpx.Request) -> str:
    """A low-cardinality route name: the path with ids replaced by ``{id}``."""
    return _NUMBER_SEGMENT.sub("/{id}", request.url.path)


# -------------------------------------------------------------------------------------------- the client

ErrorFactory = Callable[[httpx.Response, str], RemoteError | None]
ThrottleCheck = Callable[[httpx.Response], bool]


class HttpClient:
    """httpx wrapped with the behaviour described in the module docstring.

    ``error_for(response, route)`` lets an adapter turn its system's error bodies into typed exceptions with
    the system's own message; it returns None to fall back to the generic mapping by status code.
    ``is_throttled(response)`` marks answers that mean "slow down" even when the status is not 429.
    """

    def __init__(
        self,
        system: str,
        settings: HttpSettings,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        route_of: Callable[[httpx.Request], str] = default_route,
        error_for: ErrorFactory | None = None,
        is_throttled: ThrottleCheck | None = None,
        stats: RequestStats = STATS,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.system = system
        # counters per configured system: two TestRail servers in one config are two lines in /metrics
        self.label = settings.label or system
        self.settings = settings
        self.route_of = route_of
        self.error_for = error_for
        self.is_throttled = is_throttled
        self.stats = stats
        self.pacer = Pacer(settings.requests_per_minute)
        self._sleep = sleep
        if not settings.verify_tls:
            log.warning(
                "TLS certificate verification is OFF for this system; use only against a test server",
                extra={"system": system},
            )
        self._client = httpx.Client(
            base_url=settings.base_url,
            auth=auth,
            timeout=settings.timeout,
            verify=settings.verify_tls,
            headers={"User-Agent": settings.user_agent, **(headers or {})},
            transport=transport,
            follow_redirects=False,
        )
        self._cassette: Any = None
        if settings.record_cassette:
            self._cassette = _open_cassette(settings.record_cassette)

    # -- lifecycle
    def close(self) -> None:
        self._client.close()
        if self._cassette is not None:
            self._cassette.__exit__(None, None, None)
            self._cassette = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    # -- requests
    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        ok: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send one request, with pacing, retries and error mapping; returns a successful response.

        ``idempotent`` defaults to True for GET/PUT/DELETE and False for POST/PATCH; pass True for a POST
        that only reads (search endpoints) or carries its own idempotency key.
        ``ok`` overrides what counts as success (default: a 2xx status; a redirect is never success, see
        :meth:`_error`).
        """
        method = method.upper()
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        request = self._client.build_request(
            method, url, params=params, json=json, content=content, data=data, files=files, headers=headers
        )
        route = self.route_of(request)

        def attempt() -> httpx.Response:
            return self._send_once(request, route, safe_to_repeat, ok)

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda e: _retryable(e, safe_to_repeat, self.settings.max_retry_after)),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        return retrying(attempt)

    def _send_once(
        self, request: httpx.Request, route: str, safe_to_repeat: bool, ok: Callable[[httpx.Response], bool] | None
    ) -> httpx.Response:
        self.pacer.acquire()
        started = time.perf_counter()
        try:
            response = self._client.send(request)
        except httpx.TransportError as exc:
            self.stats.add(RequestKey(self.label, request.method, route, 0), time.perf_counter() - started)
            # a request that never connected did not reach the server; any other failure may have
            not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
            raise TransportError(
                f"no answer: {type(exc).__name__}: {exc}",
                system=self.system,
                method=request.method,
                route=route,
                maybe_applied=not not_sent and request.method not in ("GET", "HEAD"),
                hint="Check the URL and the network; the request is retried automatically when that is safe.",
            ) from None
        elapsed = time.perf_counter() - started
        self.stats.add(RequestKey(self.label, request.method, route, response.status_code), elapsed)
        log.debug(
            "%s %s -> %s in %.0f ms",
            request.method,
            redact(str(request.url)),
            response.status_code,
            elapsed * 1000,
            extra={"system": self.system},
        )
        if (ok(response) if ok else 200 <= response.status_code < 300) and not (
            self.is_throttled and self.is_throttled(response)
        ):
            return response
        response.read()
        raise self._error(request, route, response)

    def _error(self, request: httpx.Request, route: str, response: httpx.Response) -> RemoteError:
        status = response.status_code
        if 300 <= status < 400:
            # Redirects are not followed: the credentials would travel to wherever Location points, and an API
            # that redirects is a login page, a proxy or a wrong URL, none of which answers the call.
            location = response.headers.get("Location", "")
            return UnexpectedAnswer(
                f"redirected to {redact(location) or 'nowhere'}; redirects are not followed",
                system=self.system,
                method=request.method,
                route=route,
                status=status,
                hint="Set the system's url to the address the API answers on (https, the final host and path).",
            )
        if status == 429 or (self.is_throttled and self.is_throttled(response)):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None:
                self.pacer.push_back(min(wait, self.settings.max_retry_after))
            return RateLimited(
                _short_body(response),
                retry_after=wait,
                system=self.system,
                method=request.method,
                route=route,
                status=status,
                hint="The system is throttling requests: lower requests_per_minute for it in the config.",
            )
        specific = self.error_for(response, route) if self.error_for else None
        if specific is not None:
            return specific
        kwargs: dict[str, Any] = {"system": self.system, "method": request.method, "route": route, "status": status}
        message = _short_body(response)
        hint = {
            401: "Check the credentials configured for this system.",
            403: "The account lacks permission for this operation.",
        }.get(status)
        error = error_class_for_status(status)(message, hint=hint, **kwargs)
        if status == 503 and isinstance(error, ServerError):  # "unavailable, come back in N seconds"
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return error

    def json(self, response: httpx.Response, expect: type | tuple[type, ...] | None = None) -> Any:
        """The JSON body of a successful ``response``, checked before anyone uses it.

        Anything but JSON (an HTML page with status 200 from a proxy or a login form, a body cut short) and,
        with ``expect``, JSON of another top-level type raise :class:`UnexpectedAnswer` naming the system, the
        route, the status and the first bytes of the body. Adapters check deeper shapes themselves.
        """
        route = self.route_of(response.request)
        kw: dict[str, Any] = {
            "system": self.system,
            "method": response.request.method,
            "route": route,
            "status": response.status_code,
        }
        ctype = response.headers.get("Content-Type", "")
        if ctype and "json" not in ctype.lower():
            raise UnexpectedAnswer(
                f"answered {ctype.split(';')[0]}, not JSON: {_first_bytes(response)}",
                hint="A proxy, a login page or a wrong url answers instead of the API; check the system's url.",
                **kw,
            )
        try:
            body = jsonlib.loads(response.content)
        except ValueError as exc:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not text
            pos = getattr(exc, "pos", 0)
            reason = getattr(exc, "msg", None) or type(exc).__name__
            raise UnexpectedAnswer(
                f"answer is not valid JSON ({reason} at byte {pos}"
                f"{', cut short' if pos >= len(response.content) - 1 else ''}): {_first_bytes(response)}",
                hint="The connection or a proxy may have cut the answer short; run again.",
                **kw,
            ) from None
        if expect is not None and not isinstance(body, expect):
            wanted = " or ".join(_json_kind(t) for t in (expect if isinstance(expect, tuple) else (expect,)))
            raise UnexpectedAnswer(
                f"expected a JSON {wanted}, got {_json_kind(type(body))}: {_first_bytes(response)}",
                hint="The server's API differs from the one this bridge speaks (version, proxy, wrong url).",
                **kw,
            )
        return body

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, (RateLimited, ServerError)) and exc.retry_after is not None:
            return min(exc.retry_after, self.settings.max_retry_after)
        # exponential backoff with full jitter, bounded
        cap = min(self.settings.backoff_max, self.settings.backoff_initial * (2 ** (state.attempt_number - 1)))
        return random.uniform(cap / 2, cap)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "retrying after %s (attempt %d)",
            type(exc).__name__,
            state.attempt_number,
            extra={"system": self.system, "detail": str(exc)[:300]},
        )


def _retryable(exc: BaseException, safe_to_repeat: bool, max_retry_after: float = 300.0) -> bool:
    if isinstance(exc, RateLimited):
        # a throttled request was not processed; but a Retry-After beyond our patience is final
        return exc.retry_after is None or exc.retry_after <= max_retry_after
    if isinstance(exc, TransportError):
        return safe_to_repeat or not exc.maybe_applied
    if isinstance(exc, ServerError):
        # 503 means "not processed" by definition; other 5xx may have applied a write
        return safe_to_repeat or exc.status == 503
    return False


def _first_bytes(response: httpx.Response, limit: int = 120) -> str:
    text = response.content[:limit].decode("utf-8", "replace")
    text = " ".join(text.split())
    return repr(redact(text) + ("..." if len(response.content) > limit else ""))


def _json_kind(kind: type) -> str:
    return {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        kind, "null" if kind is type(None) else kind.__name__
    )


def _short_body(response: httpx.Response, limit: int = 500) -> str:
    text = response.text.strip() if response.content else ""
    text = text or response.reason_phrase or f"HTTP {response.status_code}"
    return redact(text[:limit])


# ------------------------------------------------------------------------------------------- cassettes


def _open_cassette(path: str) -> Any:
    """Start recording every httpx exchange to ``path`` with credentials filtered out."""
    import vcr  # imported lazily: recording is a debugging aid

    recorder = vcr.VCR(
        record_mode="all",
        filter_headers=[(h, "***") for h in sorted(SECRET_HEADERS)],
        filter_query_parameters=[("ak", "***"), ("sk", "***"), ("token", "***"), ("key", "***")],
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )
    cm = recorder.use_cassette(path)
    cm.__enter__()
    return cm


def _scrub_request(request: Any) -> Any:
    for name in list(request.headers):
        value = request.headers[name]
        if isinstance(value, str):
            request.headers[name] = redact(value)
    if request.body:
        body = request.body if isinstance(request.body, str) else request.body.decode("utf-8", "replace")
        request.body = redact(body)
    request.uri = redact(request.uri)
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = ["***"]
        else:  # servers echo credentials in other headers too
            headers[name] = [redact(v) if isinstance(v, str) else v for v in headers[name]]
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes):
        response["body"]["string"] = redact(body.decode("utf-8", "replace")).encode()
    elif isinstance(body, str):
        response["body"]["string"] = redact(body)
    return response


@contextmanager
def counting(stats: RequestStats = STATS) -> Iterator[Callable[[], dict[RequestKey, int]]]:
    """Measure the requests made inside the block: yields a function returning the difference."""
    before = stats.snapshot()

    def delta() -> dict[RequestKey, int]:
        now = stats.snapshot()
        return {k: n - before.get(k, 0) for k, n in now.items() if n - before.get(k, 0)}

    yield delta
