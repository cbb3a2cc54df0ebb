"""The HTTP layer every adapter talks through.

One :class:`HttpClient` per configured system. It adds, around httpx:

- timeouts, and TLS verification on unless the config turns it off explicitly (with a warning);
- retries with exponential backoff and jitter (tenacity) on connection errors and 5xx answers, at most
  ``max_retries``; a TLS certificate failure is never retried (it fails the same way every time);
- throttling answers (429, or what an adapter says is throttling, e.g. CodeArts ``APIG.0308``) waited out:
  ``Retry-After`` in seconds or as an HTTP date is honoured, and without it the backoff applies. Throttling is
  bounded by time (``max_throttle_wait`` per request), not by ``max_retries``: a throttled request was not
  processed, so waiting longer is always safe, and a small count would fail records a patient run completes;
- bounded answers: a body larger than ``max_answer_bytes`` is refused while it streams in (a runaway export or
  a proxy's error dump never fills the memory), and a whole answer must arrive within ``4 x timeout`` (httpx's
  timeout only bounds the pause between two reads, so a server dripping bytes would otherwise hold the run);
- a client that met an answer showing the system cannot be used (credentials refused, a redirect, a page that
  is not the API's JSON, a refused certificate, an answer too large, a write not answered in time) sends
  nothing more: later calls raise :class:`~bridge.errors.NotSent`. Nothing is written after the point of
  failure, and wrong credentials are not repeated until the server locks the account. A dropped connection
  or a 5xx is a passing fault and does not stop the client (the retries and the write intents cover it);
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
import os
import random
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception

from bridge import __version__
from bridge.errors import (
    AuthError,
    NotSent,
    RateLimited,
    RemoteError,
    ServerError,
    TlsError,
    TransportError,
    UnexpectedAnswer,
    UnusableWriteAnswer,
    error_class_for_status,
)
from bridge.http_sender import SenderClient, UrlJoiner
from bridge.http_transport import StdlibTransport, environment_names_proxies
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
    #: seconds one request may spend being throttled (429 and the like) before it fails as RateLimited
    max_throttle_wait: float = 600.0
    #: an answer body larger than this is refused as it streams in
    max_answer_bytes: int = 64 * 1024 * 1024
    #: path of a vcrpy cassette to record every exchange to (credentials filtered)
    record_cassette: str | None = None
    user_agent: str = f"testplan-bridge/{__version__}"
    #: the configured system name ([systems.<name>]) the request counters are kept under; default: the kind
    label: str | None = None
    #: seconds an idle connection is kept for the next request (httpx's default); tests shorten it to make
    #: connections expire between two requests often
    keepalive_expiry: float = 5.0


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

    def __init__(
        self,
        per_minute: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._clock = clock
        self._sleep = sleep
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
            self._sleep(wait)
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sleep`` and ``clock`` serve every wait (back-off, Retry-After, pacing): tests pass a fake pair."""
        self.system = system
        # counters per configured system: two TestRail servers in one config are two lines in /metrics
        self.label = settings.label or system
        self.settings = settings
        self.route_of = route_of
        self.error_for = error_for
        self.is_throttled = is_throttled
        self.stats = stats
        self.pacer = Pacer(settings.requests_per_minute, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._clock = clock
        if not settings.verify_tls:
            log.warning(
                "TLS certificate verification is OFF for this system; use only against a test server",
                extra={"system": system},
            )
        #: the error that showed this system cannot be used; set once, then nothing more is sent
        self.halted: RemoteError | None = None

        def tls() -> ssl.SSLContext:
            return _tls_context(settings.verify_tls)

        def new_client() -> httpx.Client:
            sender = transport
            verify: ssl.SSLContext | bool
            if transport is None and not environment_names_proxies():
                # httpx mounts the proxies of HTTP(S)_PROXY/ALL_PROXY only when it is given no transport: with
                # one named, httpx's own transports carry every request, as they always did
                sender = StdlibTransport(tls, keepalive_expiry=settings.keepalive_expiry)
                # the transport makes the TLS context at its first https connection (an http server's client
                # never reads the CA bundle); httpx, given a transport and no proxy, makes none of its own
                verify = settings.verify_tls
            else:
                verify = tls()
            return SenderClient(
                base_url=settings.base_url,
                auth=auth,
                timeout=settings.timeout,
                verify=verify,
                headers={"User-Agent": settings.user_agent, **(headers or {})},
                transport=sender,
                # httpx's default limits, spelled out: Limits() without them would mean no limit at all
                limits=httpx.Limits(
                    max_connections=100, max_keepalive_connections=20, keepalive_expiry=settings.keepalive_expiry
                ),
                follow_redirects=False,
                # a hook rather than a transport wrapper: it also covers the proxy transports httpx mounts from
                # HTTPS_PROXY and friends
                event_hooks={"response": [self._bound_answer]},
            )

        #: builds every request (and names the base url); sending goes through :attr:`_senders`
        self._client = new_client()
        self._join_url = UrlJoiner(self._client.base_url)
        self._senders = _SenderPool(new_client, first=self._client)
        self._cassette: Any = None
        if settings.record_cassette:
            self._cassette = _open_cassette(settings.record_cassette)

    # -- lifecycle
    def close(self) -> None:
        self._senders.close()
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
            method,
            self._join_url(url),
            params=params,
            json=json,
            content=content,
            data=data,
            files=files,
            headers=headers,
        )
        route = self.route_of(request)
        began = self._clock()
        failures: list[BaseException] = []

        def attempt() -> httpx.Response:
            try:
                return self._send_once(request, route, safe_to_repeat, ok)
            except RemoteError as exc:
                failures.append(exc)
                raise

        # The first attempt is made outside tenacity, whose machinery costs as much as building the request: most
        # requests succeed at once. A failure is handed to tenacity as its own first attempt, so what follows
        # (the retry decision, waits by attempt number, the log line) is what it was with tenacity from the start.
        try:
            return attempt()
        except RemoteError as exc:
            first: list[RemoteError] = [exc]

        def attempt_after_first() -> httpx.Response:
            if first:
                raise first.pop()
            return attempt()

        def stop(_state: RetryCallState) -> bool:
            if isinstance(failures[-1], RateLimited):
                # throttling is bounded by time: the server did not process the request, waiting is safe
                return self._clock() - began >= self.settings.max_throttle_wait
            return sum(not isinstance(e, RateLimited) for e in failures) > self.settings.max_retries

        retrying = Retrying(
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception(lambda e: _retryable(e, safe_to_repeat, self.settings.max_retry_after)),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        return retrying(attempt_after_first)

    def _send_once(
        self, request: httpx.Request, route: str, safe_to_repeat: bool, ok: Callable[[httpx.Response], bool] | None
    ) -> httpx.Response:
        if self.halted is not None:
            raise self._not_sent(request, route)
        self.pacer.acquire()
        started = time.perf_counter()
        try:
            with self._senders.one() as sender:
                response = sender.send(request)
        except _AnswerTooLarge as exc:
            self.stats.add(RequestKey(self.label, request.method, route, exc.status), time.perf_counter() - started)
            hint = (
                "If answers this large are expected, raise max_answer_mb for this system; otherwise a proxy or a "
                "wrong url answers instead of the API."
            )
            unusable = self._unusable(request, route, exc.status, exc.headers, exc.message, exc.head, hint)
            raise self._halt(unusable) from None
        except httpx.TransportError as exc:
            self.stats.add(RequestKey(self.label, request.method, route, 0), time.perf_counter() - started)
            tls = _tls_failure(exc)
            if tls is not None:
                raise self._halt(
                    TlsError(
                        f"TLS failed: {tls}",
                        system=self.system,
                        method=request.method,
                        route=route,
                        hint=_TLS_HINT if isinstance(tls, ssl.SSLCertVerificationError) else _TLS_OTHER_HINT,
                    )
                ) from None
            # a request that never connected did not reach the server; any other failure may have
            not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
            maybe_applied = not not_sent and request.method not in ("GET", "HEAD")
            error = TransportError(
                f"no answer: {type(exc).__name__}: {exc}",
                system=self.system,
                method=request.method,
                route=route,
                maybe_applied=maybe_applied,
                hint="Check the URL and the network; the request is retried automatically when that is safe.",
            )
            if maybe_applied and not safe_to_repeat and isinstance(exc, httpx.TimeoutException):
                # a write the server did not answer in time: its outcome is unknown (the intent log settles it
                # next run), and a server too slow for one write is too slow for the next: stop writing to it.
                # A dropped connection is a passing fault and does not stop the run.
                error.hint = (
                    f"The system did not answer within {self.settings.timeout:g} s. The write may have been "
                    "applied: the next run checks before writing again. Raise timeout for this system if it is "
                    "this slow."
                )
                raise self._halt(error) from None
            raise error from None
        elapsed = time.perf_counter() - started
        self.stats.add(RequestKey(self.label, request.method, route, response.status_code), elapsed)
        if log.isEnabledFor(logging.DEBUG):  # the url's text and its redaction cost more than the line's check
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
            return self._halt(
                UnexpectedAnswer(
                    f"redirected to {redact(location) or 'nowhere'}; redirects are not followed",
                    system=self.system,
                    method=request.method,
                    route=route,
                    status=status,
                    hint="Set the system's url to the address the API answers on (https, the final host and path).",
                )
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
        if specific is None:
            kwargs: dict[str, Any] = {
                "system": self.system,
                "method": request.method,
                "route": route,
                "status": status,
            }
            hint = {
                401: "Check the credentials configured for this system.",
                403: "The account lacks permission for this operation.",
                404: "The server does not know this route: check the system's url (and the API version or region).",
            }.get(status)
            specific = error_class_for_status(status)(_short_body(response), hint=hint, **kwargs)
            if status == 503 and isinstance(specific, ServerError):  # "unavailable, come back in N seconds"
                specific.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if isinstance(specific, AuthError):
            # every later request would be refused the same way, and servers lock accounts out after a few
            self._halt(specific)
        return specific

    def _halt(self, error: RemoteError) -> RemoteError:
        """Remember the first error that makes this system unusable for the rest of the run; return it."""
        if self.halted is None:
            self.halted = error
            log.warning(
                "no further requests to this system in this run",
                extra={"system": self.system, "error": str(error)[:300]},
            )
        return error

    def _not_sent(self, request: httpx.Request, route: str) -> NotSent:
        cause = self.halted
        assert cause is not None
        where = " ".join(p for p in (cause.method, cause.route) if p)
        status = f" -> {cause.status}" if cause.status is not None else ""
        # short: the first error of the run says what happened and what to do; this one only says "skipped"
        return NotSent(
            f"not sent: this run stopped using the system after {where}{status} (the first error says why)",
            system=self.system,
            method=request.method,
            route=route,
            cause=cause,
        )

    def _bound_answer(self, response: httpx.Response) -> None:
        """Response hook: refuse an answer declared too large, and bound the size and time of reading the rest."""
        limit = self.settings.max_answer_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _AnswerTooLarge(
                response.status_code, response.headers, f"announced {int(declared):,} bytes", b"", limit
            )
        deadline = time.monotonic() + 4 * self.settings.timeout
        response.stream = _BoundedStream(response, limit, deadline)  # type: ignore[arg-type]

    def _unusable(
        self,
        request: httpx.Request,
        route: str,
        status: int,
        headers: httpx.Headers,
        reason: str,
        head: bytes,
        hint: str,
    ) -> UnexpectedAnswer:
        """An answer that cannot be used. To a write that succeeded (2xx, not idempotent) the write may have
        been applied: :class:`UnusableWriteAnswer` keeps a create's intent open, like a dropped connection."""
        ctype = headers.get("Content-Type", "").split(";")[0] or "no content type"
        text = " ".join(head[:120].decode("utf-8", "replace").split())
        message = f"{reason} ({ctype}): {redact(text)!r}" if head else f"{reason} ({ctype})"
        cls = (
            UnusableWriteAnswer
            if 200 <= status < 300 and request.method not in IDEMPOTENT_METHODS
            else UnexpectedAnswer
        )
        return cls(
            message,
            system=self.system,
            method=request.method,
            route=route,
            status=status,
            hint=hint,
        )

    def json(self, response: httpx.Response, expect: type | tuple[type, ...] | None = None) -> Any:
        """The JSON body of a successful ``response``, checked before anyone uses it.

        Anything but JSON (an HTML page with status 200 from a proxy or a login form, a body cut short) and,
        with ``expect``, JSON of another top-level type raise :class:`UnexpectedAnswer` naming the system, the
        route, the status and the first bytes of the body (:class:`UnusableWriteAnswer` for a write, which may
        have been applied). The client then sends nothing more in this run. Adapters check deeper shapes
        themselves (:func:`shape_error` makes the error for them).
        """

        def unusable(message: str, hint: str) -> RemoteError:
            # made only for an answer that fails: the route and the rest cost more than parsing a small answer
            method = response.request.method
            cls = UnusableWriteAnswer if method not in IDEMPOTENT_METHODS else UnexpectedAnswer
            route = self.route_of(response.request)
            error = cls(message, hint=hint, system=self.system, method=method, route=route, status=response.status_code)
            return self._halt(error)

        ctype = response.headers.get("Content-Type", "")
        if ctype and "json" not in ctype.lower():
            raise unusable(
                f"answered {ctype.split(';')[0]}, not JSON: {_first_bytes(response)}",
                "A proxy, a login page or a wrong url answers instead of the API; check the system's url.",
            )
        try:
            body = _loads(response.content)
        except ValueError as exc:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not text
            pos = getattr(exc, "pos", 0)
            reason = getattr(exc, "msg", None) or type(exc).__name__
            raise unusable(
                f"answer is not valid JSON ({reason} at byte {pos}"
                f"{', cut short' if pos >= len(response.content) - 1 else ''}): {_first_bytes(response)}",
                "The connection or a proxy may have cut the answer short; run again.",
            ) from None
        if expect is not None and not isinstance(body, expect):
            wanted = " or ".join(_json_kind(t) for t in (expect if isinstance(expect, tuple) else (expect,)))
            raise unusable(
                f"expected a JSON {wanted}, got {_json_kind(type(body))}: {_first_bytes(response)}",
                "The server's API differs from the one this bridge speaks (version, proxy, wrong url).",
            )
        return body

    def shape_error(self, response: httpx.Response, problem: str) -> UnexpectedAnswer:
        """The error for an answer that parsed but lacks what the adapter relies on (the client halts, as for
        any unusable answer): ``raise http.shape_error(response, "case 3 has no 'section_id'")``."""
        method = response.request.method
        cls = UnusableWriteAnswer if method not in IDEMPOTENT_METHODS else UnexpectedAnswer
        error = cls(
            f"unexpected answer: {problem}: {_first_bytes(response)}",
            system=self.system,
            method=method,
            route=self.route_of(response.request),
            status=response.status_code,
            hint="The server's API differs from the one this bridge speaks (version, proxy, wrong url).",
        )
        self._halt(error)
        return error

    def records(
        self, response: httpx.Response, items: Any, keys: tuple[str, ...] = (), *, what: str = "record"
    ) -> list[dict[str, Any]]:
        """``items`` checked to be a list of JSON objects that each hold ``keys`` (else :meth:`shape_error`)."""
        problem = shape_problem(items, keys, what=what)
        if problem is not None:
            raise self.shape_error(response, problem)
        return list(items)

    def record(
        self, response: httpx.Response, item: Any, keys: tuple[str, ...] = (), *, what: str = "record"
    ) -> dict[str, Any]:
        """One JSON object checked to hold ``keys`` (else :meth:`shape_error`)."""
        return self.records(response, [item], keys, what=what)[0]

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
    if isinstance(exc, (TlsError, UnexpectedAnswer)):
        return False  # a refused certificate is refused again; an unusable answer is not a passing fault
    if isinstance(exc, TransportError):
        return safe_to_repeat or not exc.maybe_applied
    if isinstance(exc, ServerError):
        # 503 means "not processed" by definition; other 5xx may have applied a write
        return safe_to_repeat or exc.status == 503
    return False


_TLS_HINT = (
    "The server's certificate is not trusted (self-signed, expired, or for another host name). Point SSL_CERT_FILE "
    "at a bundle holding your organisation's CA, fix the url's host name, or, for a test server only, set "
    "verify_tls = false for this system. Retrying cannot help, so the request was not repeated."
)
_TLS_OTHER_HINT = (
    "The TLS handshake failed (an http:// server behind an https:// url, or no common protocol version). "
    "Check the url's scheme and port. Retrying cannot help, so the request was not repeated."
)


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The SSL error at the root of an httpx transport error, if that is what it is."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_TLS_CONTEXTS: dict[tuple[bool, str | None, str | None], ssl.SSLContext] = {}


def _tls_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per process for each way of verifying: building one (reading the CA bundle) costs the CPU
    of dozens of requests, and every client of every system needs one. Keyed on the variables that choose the
    bundle, so a changed SSL_CERT_FILE is still honoured."""
    key = (verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _TLS_CONTEXTS.get(key)
    if context is None:  # two threads may both build one: the second replaces the first, both work
        context = _TLS_CONTEXTS[key] = httpx.create_ssl_context(verify=verify)
    return context


class _SenderPool:
    """httpx clients, each used by one thread at a time.

    httpcore's connection pool is not safe for threads: a thread tidying the pool can close a connection it
    has just handed to another thread's request (encode/httpcore#1110, open in 1.0.9), and that request then
    fails with ``ReadError: [Errno 9] Bad file descriptor`` or hangs until its read timeout. A create that
    fails that way is a write that may have been applied, so a migration under load stopped with an error.
    Lending each client to one request at a time keeps every pool to a single thread; there are as many
    clients as requests ever ran at once (the number of workers), each keeping its own connection alive.
    A ``transport`` given to :class:`HttpClient` (tests' mock transports) is shared by all of them: only the
    pools httpx builds itself are kept apart. The bridge's own transport (bridge/http_transport.py), used
    unless the environment names a proxy, would be safe to share; each client still gets one of its own, so
    both kinds are lent the same way.
    """

    def __init__(self, new_client: Callable[[], httpx.Client], *, first: httpx.Client) -> None:
        self._new = new_client
        self._lock = threading.Lock()
        self._free: list[httpx.Client] = [first]
        self._all: list[httpx.Client] = [first]

    @contextmanager
    def one(self) -> Iterator[httpx.Client]:
        with self._lock:
            client = self._free.pop() if self._free else None
        if client is None:
            client = self._new()
            with self._lock:
                self._all.append(client)
        try:
            yield client
        finally:
            with self._lock:
                self._free.append(client)

    def close(self) -> None:
        with self._lock:
            clients, self._all, self._free = self._all, [], []
        for client in clients:
            client.close()


class _AnswerTooLarge(Exception):
    """Raised out of httpx while an answer streams in: it is larger than the client accepts."""

    def __init__(self, status: int, headers: httpx.Headers, what: str, head: bytes, limit: int) -> None:
        super().__init__(what)
        self.status = status
        self.headers = headers
        self.head = head
        most = f"{limit:,} bytes" if limit < 1024 * 1024 else f"{limit / 1024 / 1024:g} MB"
        self.message = f"answer refused: {what}, more than the {most} this client accepts"


class _BoundedStream(httpx.SyncByteStream):
    """The raw body of one answer, read with a size limit and a deadline for the whole answer."""

    def __init__(self, response: httpx.Response, limit: int, deadline: float) -> None:
        # what an error needs of the answer, not the answer itself: the answer holds this stream, and a stream
        # that held its answer would make a cycle, freed only when the cycle collector comes by (during a run
        # it comes seldom, see bridge.memory: a listing's pages of a megabyte each piled up until it did)
        self._status, self._headers = response.status_code, response.headers
        self._inner: httpx.SyncByteStream | httpx.AsyncByteStream | None = response.stream
        self._limit = limit
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        head = b""
        for chunk in self._inner:  # type: ignore[union-attr]
            size += len(chunk)
            if len(head) < 120:
                head += chunk[: 120 - len(head)]
            if size > self._limit:
                raise _AnswerTooLarge(self._status, self._headers, f"{size:,} bytes and counting", head, self._limit)
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout("the answer did not arrive in full within 4 x timeout")
            yield chunk

    def close(self) -> None:
        # let go of the stream once closed: httpx's own send wraps the transport's stream in one that holds
        # the answer (BoundSyncStream), and this stream held by the answer would keep that cycle
        inner, self._inner = self._inner, None
        close = getattr(inner, "close", None)
        if close is not None:
            close()


# 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float (precision silently lost).
# Found by mapping every digit to 0 and looking for nineteen 0s: a quarter of orjson's time on a listing page,
# where a regular expression takes five times orjson's.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def _loads(content: bytes) -> Any:
    """JSON text to Python: orjson (several times faster on the large listings syncs read), and the standard
    library for a body with a very long number, or one orjson refuses (NaN, or not JSON: then json words the
    error)."""
    if _NINETEEN_DIGITS not in content.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return jsonlib.loads(content)


def shape_problem(items: Any, keys: tuple[str, ...] = (), *, what: str = "record") -> str | None:
    """None when ``items`` is a list of JSON objects that each hold every key of ``keys`` with a value that is
    not null; else what is wrong, in words naming the first offending item."""
    if not isinstance(items, list):
        return f"expected a list of {what}s, got {_json_kind(type(items))}"
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{what} {i + 1} is a JSON {_json_kind(type(item))}, not an object"
        missing = [k for k in keys if item.get(k) is None]
        if missing:
            name = f"{what} {item['id']}" if item.get("id") is not None else f"{what} {i + 1}"
            return f"{name} has no {', '.join(repr(k) for k in missing)}"
    return None


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
