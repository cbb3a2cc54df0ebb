"""The HTTP layer against a real server on loopback: retries, throttling, pacing, drops, counters, TLS warning.

Waits are kept tiny (backoff in tens of milliseconds, Retry-After of 1 second) so the file runs in seconds;
timings are measured on the server side, where a retry or a paced request really arrives.
"""

from __future__ import annotations

import email.utils
import gc
import io
import math
import re
import socket
import threading
import time
import weakref
from typing import Any

import pytest

from bridge.errors import (
    AuthError,
    MissingRoute,
    NotSent,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    UnexpectedAnswer,
    UnusableWriteAnswer,
    ValidationFailed,
    reported,
)
from bridge.http import HttpClient, HttpSettings, RequestKey, RequestStats, counting, parse_retry_after
from bridge.logs import configure_logging

from .loopback import CHUNKED, DRIP, DROP, Script


def client(
    url: str, stats: RequestStats | None = None, *, clock: FakeClock | None = None, **settings: Any
) -> HttpClient:
    values: dict[str, Any] = {"base_url": url, "backoff_initial": 0.02, "backoff_max": 0.2, "max_retries": 3}
    values.update(settings)
    if clock is None:
        return HttpClient("sys", HttpSettings(**values), stats=stats or RequestStats())
    return HttpClient("sys", HttpSettings(**values), stats=stats or RequestStats(), sleep=clock.sleep, clock=clock)


class FakeClock:
    """The client's clock for tests of its waits: it moves only when the client sleeps, and every sleep is
    recorded, so what is checked is the wait the client chose, not how busy the machine was."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# ---------------------------------------------------------------------------------------------- retries


def test_get_is_retried_on_5xx_with_growing_backoff(script: Script, server_url: str) -> None:
    script.queue("/flaky", 500, 502)
    stats = RequestStats()
    with client(server_url, stats, backoff_initial=0.1, backoff_max=1.0) as http:
        response = http.get("/flaky")
    assert response.json() == {"ok": True, "path": "/flaky", "method": "GET"}
    assert len(script.seen("/flaky")) == 3
    first, second = script.gaps("/flaky")
    # full jitter between half the cap and the cap; the cap doubles each attempt (0.1, then 0.2)
    assert 0.05 <= first < 1.0
    assert 0.1 <= second < 1.0
    assert stats.snapshot() == {
        RequestKey("sys", "GET", "/flaky", 500): 1,
        RequestKey("sys", "GET", "/flaky", 502): 1,
        RequestKey("sys", "GET", "/flaky", 200): 1,
    }


def test_get_gives_up_after_max_retries(script: Script, server_url: str) -> None:
    script.queue("/down", 500, 500, 500, 500)
    with client(server_url, max_retries=2) as http, pytest.raises(ServerError) as info:
        http.get("/down")
    assert len(script.seen("/down")) == 3
    assert info.value.status == 500 and "scripted 500" in str(info.value)


def test_post_that_got_500_is_not_repeated(script: Script, server_url: str) -> None:
    """A 500 may come after the server applied the create: repeating it could duplicate the record."""
    script.queue("/cases", 500)
    with client(server_url) as http, pytest.raises(ServerError) as info:
        http.post("/cases", json={"title": "x"})
    assert len(script.seen("/cases")) == 1
    assert info.value.status == 500 and info.value.method == "POST"


@pytest.mark.parametrize("status", [503, 429])
def test_post_that_got_503_or_429_is_repeated(script: Script, server_url: str, status: int) -> None:
    """503 and 429 mean the request was not processed, so a create is safe to send again."""
    script.queue("/cases", status, (201, {}, b'{"id": 7}'))
    with client(server_url) as http:
        response = http.post("/cases", json={"title": "x"})
    assert response.status_code == 201 and response.json() == {"id": 7}
    assert [a.method for a in script.seen("/cases")] == ["POST", "POST"]
    assert script.seen("/cases")[0].body == script.seen("/cases")[1].body == b'{"title":"x"}'


def test_post_marked_idempotent_is_repeated_after_500(script: Script, server_url: str) -> None:
    script.queue("/search", 500)
    with client(server_url) as http:
        assert http.post("/search", json={}, idempotent=True).status_code == 200
    assert len(script.seen("/search")) == 2


# ------------------------------------------------------------------------------------------- throttling


def test_429_with_retry_after_seconds_is_waited_out(script: Script, server_url: str) -> None:
    script.queue("/slow", (429, {"Retry-After": "1"}))
    with client(server_url) as http:
        assert http.get("/slow").status_code == 200
    (gap,) = script.gaps("/slow")
    assert 0.95 <= gap < 2.0


def test_503_with_retry_after_is_waited_out(script: Script, server_url: str) -> None:
    # a maintenance window or an overloaded gateway says when to come back; backoff alone would come sooner
    script.queue("/busy", (503, {"Retry-After": "1"}))
    clock = FakeClock()
    with client(server_url, clock=clock) as http:
        assert http.get("/busy").status_code == 200
    assert clock.sleeps == [1.0] and len(script.seen("/busy")) == 2


def test_429_with_retry_after_http_date_is_waited_out(script: Script, server_url: str) -> None:
    # an HTTP date has whole seconds: two seconds after the current second is 1-2 s away
    def two_seconds_later() -> str:
        return email.utils.formatdate(math.floor(time.time()) + 2, usegmt=True)

    script.queue("/slow", (429, {"Retry-After": two_seconds_later}))  # type: ignore[dict-item]
    clock = FakeClock()
    with client(server_url, clock=clock) as http:
        assert http.get("/slow").status_code == 200
    (wait,) = clock.sleeps
    assert 0.0 < wait <= 2.0 and len(script.seen("/slow")) == 2


def test_429_without_retry_after_backs_off(script: Script, server_url: str) -> None:
    script.queue("/slow", 429, 429)
    clock = FakeClock()
    with client(server_url, clock=clock, backoff_initial=0.1, backoff_max=1.0) as http:
        assert http.get("/slow").status_code == 200
    first, second = clock.sleeps  # full jitter: between half the cap and the cap, which doubles
    assert 0.05 <= first <= 0.1 and 0.1 <= second <= 0.2


def test_retry_after_beyond_max_retry_after_fails_at_once(script: Script, server_url: str) -> None:
    script.queue("/slow", (429, {"Retry-After": "60"}))
    clock = FakeClock()
    with client(server_url, clock=clock, max_retry_after=2.0) as http, pytest.raises(RateLimited) as info:
        http.get("/slow")
    assert clock.sleeps == []
    assert info.value.retry_after == 60 and info.value.status == 429
    assert len(script.seen("/slow")) == 1


def test_throttling_that_is_not_a_429(script: Script, server_url: str) -> None:
    """Some systems throttle with another status and a code in the body (CodeArts: APIG.0308)."""
    script.queue("/apig", (400, {}, b'{"error_code": "APIG.0308"}'))
    settings = HttpSettings(base_url=server_url, backoff_initial=0.02, backoff_max=0.1)
    with HttpClient("sys", settings, is_throttled=lambda r: b"APIG.0308" in r.content, stats=RequestStats()) as http:
        assert http.get("/apig").status_code == 200
    assert len(script.seen("/apig")) == 2


def test_parse_retry_after() -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT")
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# ----------------------------------------------------------------------------------------------- pacing


def test_pacer_spaces_requests_to_the_configured_rate(script: Script, server_url: str) -> None:
    clock = FakeClock()
    with client(server_url, clock=clock, requests_per_minute=600) as http:  # one request every 0.1 s
        for _ in range(6):
            http.get("/paced")
    # the first goes at once, each later one waits out the interval since the one before
    assert clock.sleeps == pytest.approx([0.1] * 5) and len(script.seen("/paced")) == 6


def test_pacer_spaces_requests_on_the_real_clock(script: Script, server_url: str) -> None:
    with client(server_url, requests_per_minute=300) as http:  # one request every 0.2 s
        http.get("/warm")  # opens the connection: its set-up time is not part of any measured gap
        for _ in range(6):
            http.get("/paced")
    # the pacer spaces departures; arrivals are seen by a server in this process, so on a busy machine the
    # first may arrive late and shorten the span by that delay (up to ~0.15 s seen under load): 1.0 s is
    # the nominal span, unpaced the six would arrive within a few milliseconds
    assert sum(script.gaps("/paced")) >= 0.8


def test_pacer_holds_the_rate_across_threads(script: Script, server_url: str) -> None:
    with client(server_url, requests_per_minute=300) as http:  # one request every 0.2 s
        threads = [threading.Thread(target=lambda i=i: [http.get(f"/t/{i}/{n}") for n in range(2)]) for i in range(4)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    assert len(script.seen()) == 8
    # departures 0.2 s apart; a request's arrival is later by its transit, and a thread's first request also
    # opens its connection: on a busy machine one arrival can be ~0.15 s late, which shortens its gap to the
    # next (unpaced, all eight would arrive within milliseconds of each other)
    gaps = script.gaps()
    assert min(gaps) >= 0.03 and sum(gaps) >= 1.2, gaps
    assert elapsed >= 1.35  # 8 requests, 7 intervals of 0.2 s from the first departure


def test_threads_sharing_a_client_never_have_a_connection_closed_under_them(script: Script, server_url: str) -> None:
    """Workers share one client. httpcore's pool, when one thread tidies it, can close an idle connection it
    has just handed to another thread's request (encode/httpcore#1110): that POST then fails with "Bad file
    descriptor" (a create that may have landed: the migration reports an error) or hangs until its timeout.
    It needs an idle connection to expire between two looks at the pool: a keep-alive of half a millisecond
    makes that happen several times in a run of 1,800 POSTs from 12 threads.
    """
    failures: list[BaseException] = []

    def worker(i: int) -> None:
        for n in range(150):
            try:
                http.post(f"/w/{i}/{n}", json={"n": n})
            except Exception as exc:  # collected: the assertion shows every failure, not the first
                failures.append(exc)

    with client(server_url, timeout=5, keepalive_expiry=0.0005) as http:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
    assert len(script.seen()) == 12 * 150  # each POST arrived once: none was repeated, none lost


def test_a_throttling_answer_holds_back_the_other_requests_too(script: Script, server_url: str) -> None:
    script.queue("/a", (429, {"Retry-After": "1"}))
    clock = FakeClock()
    with client(server_url, clock=clock, requests_per_minute=6000) as http:  # one request every 0.01 s
        http.get("/a")
        http.get("/b")  # no throttling of its own, but the pacer was pushed back by /a's Retry-After
    # /a's retry waited the second out; /b then waits only its pacing interval, not a second second
    assert clock.sleeps == pytest.approx([1.0, 0.01])


def test_a_throttling_answer_given_up_on_still_holds_back_the_next_request(script: Script, server_url: str) -> None:
    """The pacer itself is pushed back (not only the retried request): a caller that gives up on /a at once
    still finds /b held until the Retry-After has passed."""
    script.queue("/a", (429, {"Retry-After": "1"}))
    clock = FakeClock()
    with client(server_url, clock=clock, requests_per_minute=6000, max_throttle_wait=0) as http:
        with pytest.raises(RateLimited):
            http.get("/a")
        assert clock.sleeps == []
        http.get("/b")
    assert clock.sleeps == pytest.approx([1.0])


# ------------------------------------------------------------------------------------- dropped connections


def test_dropped_get_is_retried_then_reported(script: Script, server_url: str) -> None:
    script.queue("/drop", DROP, DROP, DROP)
    stats = RequestStats()
    with client(server_url, stats, max_retries=2) as http, pytest.raises(TransportError) as info:
        http.get("/drop")
    assert len(script.seen("/drop")) == 3
    assert info.value.maybe_applied is False
    assert stats.snapshot() == {RequestKey("sys", "GET", "/drop", 0): 3}
    assert stats.errors("sys") == 3


def test_dropped_get_recovers(script: Script, server_url: str) -> None:
    script.queue("/drop", DROP)
    with client(server_url) as http:
        assert http.get("/drop").json()["ok"] is True
    assert len(script.seen("/drop")) == 2


def test_dropped_post_is_maybe_applied_and_not_repeated(script: Script, server_url: str) -> None:
    script.queue("/cases", DROP)
    with client(server_url) as http, pytest.raises(TransportError) as info:
        http.post("/cases", json={"title": "x"})
    assert info.value.maybe_applied is True
    assert len(script.seen("/cases")) == 1


def test_refused_connection_is_not_applied_and_is_retried() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stats = RequestStats()
    with client(f"http://127.0.0.1:{port}", stats, max_retries=2) as http, pytest.raises(TransportError) as info:
        http.post("/cases", json={})
    assert info.value.maybe_applied is False  # it never reached a server: safe to repeat, and it was
    assert stats.snapshot() == {RequestKey("sys", "POST", "/cases", 0): 3}


# ------------------------------------------------------------------------------------- errors and counters


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, ValidationFailed), (401, AuthError), (403, PermissionDenied), (404, MissingRoute), (422, ValidationFailed)],
)
def test_error_statuses_map_to_typed_errors(script: Script, server_url: str, status: int, error: type) -> None:
    script.queue("/items/5", (status, {}, b'{"error": "Field :title is required"}'))
    with client(server_url) as http, pytest.raises(error) as info:
        http.get("/items/5")
    assert len(script.seen()) == 1  # never retried
    message = str(info.value)
    assert "Field :title is required" in message and f"GET /items/{{id}} -> {status}" in message


def test_request_counters_per_method_route_and_status(script: Script, server_url: str) -> None:
    script.queue("/items/3", 404)
    stats = RequestStats()
    with client(server_url, stats) as http, counting(stats) as delta:
        http.get("/items/1")
        http.get("/items/2")
        with pytest.raises(MissingRoute):
            http.get("/items/3")
        http.put("/items/0123456789abcdef0123456789abcdef", json={})
        http.post("/items", json={})
    assert delta() == {
        RequestKey("sys", "GET", "/items/{id}", 200): 2,
        RequestKey("sys", "GET", "/items/{id}", 404): 1,
        RequestKey("sys", "PUT", "/items/{id}", 200): 1,
        RequestKey("sys", "POST", "/items", 200): 1,
    }
    assert stats.total("sys") == 5 and stats.total(method="GET") == 3 and stats.errors() == 1
    assert stats.by_route("sys") == {"GET /items/{id}": 3, "PUT /items/{id}": 1, "POST /items": 1}


def test_custom_route_names(script: Script, server_url: str) -> None:
    stats = RequestStats()
    settings = HttpSettings(base_url=server_url)
    with HttpClient("sys", settings, stats=stats, route_of=lambda r: "get_case") as http:
        http.get("/index.php", params={"/api/v2/get_case/12": ""})
    assert stats.snapshot() == {RequestKey("sys", "GET", "get_case", 200): 1}


def test_tls_verification_off_logs_a_warning(restore_logging: None, server_url: str) -> None:
    stream = io.StringIO()
    configure_logging("info", json_lines=False, stream=stream)
    HttpClient("insecure-sys", HttpSettings(base_url=server_url, verify_tls=False)).close()
    line = stream.getvalue()
    # plain lines: UTC timestamp, level, message, key=value fields (bridge.logs.PlainFormatter)
    assert re.match(r"^\S+Z warning ", line) and "TLS certificate verification is OFF" in line
    assert "system=insecure-sys" in line
    stream.truncate(0)
    HttpClient("secure-sys", HttpSettings(base_url=server_url)).close()
    assert "TLS" not in stream.getvalue()


# ------------------------------------------------------------------------------ answers of the wrong kind


def test_an_html_page_with_status_200_is_an_unexpected_answer(script: Script, server_url: str) -> None:
    script.queue("/login", (200, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>Sign in</body></html>"))
    with client(server_url) as http:
        response = http.get("/login")
        with pytest.raises(UnexpectedAnswer) as err:
            http.json(response, dict)
    text = str(err.value)
    assert "text/html, not JSON" in text and "Sign in" in text and "GET /login -> 200" in text
    assert len(script.seen("/login")) == 1  # never retried


def test_json_cut_short_and_json_of_the_wrong_shape(script: Script, server_url: str) -> None:
    script.queue("/cut", (200, {}, b'{"data": [1, 2'))
    script.queue("/shape", (200, {}, b"[1, 2, 3]"))
    with client(server_url) as http:
        with pytest.raises(UnexpectedAnswer, match="not valid JSON.*cut short"):
            http.json(http.get("/cut"), dict)
    with client(server_url) as http:
        with pytest.raises(UnexpectedAnswer, match="expected a JSON object, got array"):
            http.json(http.get("/shape"), dict)
    with client(server_url) as http:
        assert http.json(http.get("/fine"), dict) == {"ok": True, "path": "/fine", "method": "GET"}


def test_json_numbers_strings_and_special_values_come_back_exactly(script: Script, server_url: str) -> None:
    """The parser is fast for common bodies and exact for all: an id beyond 64 bits keeps every digit (a fast
    parser would read it as a float), NaN is accepted as the standard library accepts it, text stays text."""
    body = (
        '{"id": 123456789012345678901234567890, "low": -9223372036854775809, "max": 18446744073709551615, '
        '"x": 1.5e300, "name": "Caf\\u00e9 \\u2028 \\ud83d\\ude00", "plain": "é", "list": [true, null, 0.1]}'
    ).encode()
    script.queue("/n", (200, {}, body))
    script.queue("/nan", (200, {}, b'{"v": NaN}'))
    with client(server_url) as http:
        got = http.json(http.get("/n"), dict)
        nan = http.json(http.get("/nan"), dict)["v"]
    assert got == {
        "id": 123456789012345678901234567890,
        "low": -9223372036854775809,
        "max": 18446744073709551615,
        "x": 1.5e300,
        "name": "Caf\u00e9 \u2028 \U0001f600",
        "plain": "é",
        "list": [True, None, 0.1],
    }
    assert all(isinstance(got[k], int) for k in ("id", "low", "max"))
    assert math.isnan(nan)


def test_after_an_unusable_answer_the_client_sends_nothing_more(script: Script, server_url: str) -> None:
    """The point of failure is the last request: a write after it could rest on what the bad answer hid."""
    script.queue("/list", (200, {"Content-Type": "text/html"}, b"<html>Proxy login</html>"))
    with client(server_url) as http:
        with pytest.raises(UnexpectedAnswer):
            http.json(http.get("/list"), list)
        with pytest.raises(NotSent) as info:
            http.post("/cases", json={"title": "x"})
    assert [a.path for a in script.seen()] == ["/list"]
    text = str(info.value)
    assert "not sent: this run stopped using the system after GET /list -> 200" in text and "POST /cases" in text


def test_a_write_whose_answer_is_cut_short_may_have_been_applied(script: Script, server_url: str) -> None:
    """The server took the create and the answer broke on the way: like a dropped connection, not a refusal."""
    script.queue("/cases", (201, {}, b'{"id": 7, "tit'))
    with client(server_url) as http:
        with pytest.raises(UnusableWriteAnswer) as info:
            http.json(http.post("/cases", json={"title": "x"}), dict)
    assert info.value.maybe_applied and isinstance(info.value, TransportError)
    assert isinstance(info.value, UnexpectedAnswer)


def test_401_stops_the_client_so_the_account_is_not_locked_out(script: Script, server_url: str) -> None:
    script.queue("/a", (401, {}, b'{"error": "Authentication failed"}'))
    with client(server_url) as http:
        with pytest.raises(AuthError) as refused:
            http.get("/a")
        for _ in range(3):
            with pytest.raises(NotSent, match="stopped using the system after GET /a -> 401") as held:
                http.get("/b")
            # what a command, a job or a connect that ends on the held-back request reports: the refusal
            assert held.value.cause is refused.value and reported(held.value) is refused.value
    assert [a.path for a in script.seen()] == ["/a"]


def test_a_huge_answer_is_refused_while_it_streams_in(script: Script, server_url: str) -> None:
    """Chunked (no Content-Length): the limit is applied to the bytes as they arrive."""
    script.queue("/big", (CHUNKED, {}, b'{"items": [' + b'"x",' * 200_000 + b'"y"]}'))
    with client(server_url, max_answer_bytes=100_000) as http:
        with pytest.raises(
            UnexpectedAnswer, match="answer refused: .* bytes and counting, more than the 100,000 bytes"
        ):
            http.get("/big")
        with pytest.raises(NotSent):
            http.get("/next")
    assert [a.path for a in script.seen()] == ["/big"]


def test_an_answer_announced_too_large_is_refused_before_reading(script: Script, server_url: str) -> None:
    script.queue("/big", (200, {}, b"[" + b"1," * 100_000 + b"1]"))
    with client(server_url, max_answer_bytes=1000) as http:
        with pytest.raises(UnexpectedAnswer, match="announced 200,003 bytes, more than the 1,000 bytes"):
            http.get("/big")


@pytest.mark.parametrize("framing", [200, CHUNKED])
def test_an_answer_is_freed_as_soon_as_the_caller_lets_go_of_it(script: Script, server_url: str, framing: int) -> None:
    """No reference cycle runs through an answer (its size-bounded stream once held it): a listing's pages of a
    megabyte each are freed at once, not when the cycle collector next comes by, which a run holds off."""
    script.queue("/page", (framing, {}, b'{"items": [' + b'"x",' * 1000 + b'"y"]}'))
    with client(server_url) as http:
        gc.disable()
        try:
            response = http.get("/page")
            assert response.json()["items"][-1] == "y"
            gone = weakref.ref(response)
            del response
            assert gone() is None
        finally:
            gc.enable()


def test_an_answer_that_drips_in_is_cut_off_by_the_whole_answer_deadline(script: Script, server_url: str) -> None:
    """httpx's timeout bounds each read; the whole answer gets 4 x timeout."""
    script.queue("/drip", (DRIP, {}, b"[" + b"1," * 40 + b"1]"))
    with client(server_url, timeout=0.25, max_retries=0) as http:
        started = time.monotonic()
        with pytest.raises(TransportError, match="within 4 x timeout"):
            http.get("/drip")
        took = time.monotonic() - started
    assert took < 40 * 0.1  # the drip takes 4 s in full; it is cut off near 1 s


def test_a_redirect_is_never_success_and_never_followed(script: Script, server_url: str) -> None:
    script.queue("/moved", (302, {"Location": "https://elsewhere.example/api"}, b""))
    with client(server_url) as http:
        with pytest.raises(UnexpectedAnswer, match="redirected to https://elsewhere.example/api") as err:
            http.post("/moved", json={"name": "x"})
    assert err.value.status == 302
    assert [a.path for a in script.seen()] == ["/moved"]  # one request, nothing sent anywhere else
