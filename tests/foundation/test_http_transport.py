"""The HTTP client's own transport (bridge/http_transport.py) against servers on real sockets: connections kept
alive and dropped at the right moments, answers cut short, bodies that are absent by definition, proxies.

Each server answer is written byte for byte (tests/foundation/rawserver.py), so the tests can do what a
server framework would not: close a kept-alive connection between two requests, stop inside a body.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

import bridge.http
from bridge.errors import NotSent, TransportError
from bridge.http import HttpClient, HttpSettings, RequestStats, _tls_context
from bridge.http_transport import StdlibTransport

from .rawserver import Answer, RawRequest, RawServer, ok


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[RawRequest], Answer]], RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Callable[[RawRequest], Answer]) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client(url: str, **settings: object) -> HttpClient:
    values: dict[str, object] = {"base_url": url, "backoff_initial": 0.01, "backoff_max": 0.02, "timeout": 5}
    values.update(settings)
    return HttpClient("sys", HttpSettings(**values), stats=RequestStats())  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# ------------------------------------------------------------------------------------------- keep-alive


def test_requests_share_one_kept_alive_connection(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda r: ok())
    with client(server.url) as http:
        for i in range(5):
            assert http.json(http.post(f"/cases/{i}", json={"i": i}), dict) == {"ok": True}
    assert [r.connection for r in server.requests] == [1] * 5


def test_an_idle_connection_past_keepalive_expiry_is_closed_not_reused(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda r: ok())
    with client(server.url, keepalive_expiry=0.05) as http:
        http.get("/a")
        time.sleep(0.2)
        http.get("/b")
        assert wait_for(lambda: server.hung_up == 1)  # the client closed the expired one itself
    assert [r.connection for r in server.requests] == [1, 2]


def test_a_kept_alive_connection_the_server_closed_is_not_reused_for_a_post(serve: Callable[..., RawServer]) -> None:
    """The server keeps the connection open after its answer (no ``Connection: close``), then closes it while
    it is idle. A POST written to it would find no answer and fail as "maybe applied": a create stopped for
    nothing. The transport sees the closed connection before writing, and opens a new one."""
    server = serve(lambda r: Answer(ok().data, close=r.method == "GET", close_after=0.05))
    with client(server.url, max_retries=0) as http:
        http.get("/first")
        time.sleep(0.3)  # the server has closed the idle connection by now
        assert http.json(http.post("/cases", json={"title": "x"}), dict) == {"ok": True}
    assert [(r.method, r.connection) for r in server.requests] == [("GET", 1), ("POST", 2)]


def test_closing_the_client_closes_its_connections(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda r: ok())
    http = client(server.url)
    http.get("/a")
    assert server.hung_up == 0
    http.close()
    assert wait_for(lambda: server.hung_up == 1)


def test_an_answer_with_connection_close_is_not_kept(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda r: ok(headers="Connection: close\r\n", close=True))
    with client(server.url) as http:
        http.get("/a")
        http.get("/b")
    assert [r.connection for r in server.requests] == [1, 2]


# ------------------------------------------------------------------------------------ answers cut short


@pytest.mark.parametrize(
    "cut",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + b'{"id": 1, "ti',
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"id"\r\n',
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",  # inside the headers
        b"",  # nothing at all
    ],
    ids=["content-length", "chunked", "headers", "no-answer"],
)
def test_a_server_that_closes_mid_answer_gives_a_maybe_applied_error(
    serve: Callable[..., RawServer], cut: bytes
) -> None:
    server = serve(lambda r: Answer(cut, close=True))
    with client(server.url) as http, pytest.raises(TransportError) as info:
        http.post("/cases", json={"title": "x"})
    assert info.value.maybe_applied is True
    assert len(server.requests) == 1  # a create that may have landed is not repeated


def test_a_get_cut_short_is_retried_on_a_new_connection(serve: Callable[..., RawServer]) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"[1, 2"
    server = serve(lambda r: Answer(cut, close=True) if r.connection == 1 else ok(b"[1, 2, 3]"))
    with client(server.url) as http:
        assert http.json(http.get("/items"), list) == [1, 2, 3]
    assert [r.connection for r in server.requests] == [1, 2]


def test_refused_connection_is_a_connect_error_nothing_was_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = StdlibTransport(_tls_context(True))
    with pytest.raises(httpx.ConnectError):
        transport.handle_request(httpx.Request("POST", f"http://127.0.0.1:{port}/cases", json={}))
    with client(f"http://127.0.0.1:{port}", max_retries=1) as http, pytest.raises(TransportError) as info:
        http.post("/cases", json={})
    assert info.value.maybe_applied is False


def test_the_tls_context_is_made_at_the_first_https_connection_only(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the CA bundle costs ~20 ms of CPU: a client of an http server never does, an https one once."""
    made: list[bool] = []

    def counted(verify: bool) -> ssl.SSLContext:
        made.append(verify)
        return _tls_context(verify)

    monkeypatch.setattr(bridge.http, "_tls_context", counted)
    server = serve(lambda r: ok())
    with client(server.url) as http:
        assert http.json(http.get("/items"), dict) == {"ok": True}
    assert made == []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with client(f"https://127.0.0.1:{port}", max_retries=1) as http:
        for _ in range(2):
            with pytest.raises(TransportError):
                http.get("/items")
    assert made == [True]  # when the first connection was opened (refused here), and for that client only


def test_an_answer_not_in_time_is_a_read_timeout_and_stops_writes(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda r: Answer(None) if time.sleep(1) is None else ok())
    with client(server.url, timeout=0.2) as http:
        with pytest.raises(TransportError, match="ReadTimeout") as info:
            http.post("/cases", json={"title": "x"})
        assert info.value.maybe_applied is True
        with pytest.raises(NotSent):
            http.post("/cases", json={"title": "y"})


# ------------------------------------------------------------------------------------- answer framing


def test_head_204_and_304_have_no_body_and_the_connection_stays_usable(serve: Callable[..., RawServer]) -> None:
    """A HEAD's Content-Length announces the GET's body, which is not sent: waiting for it would hang."""

    def answer(r: RawRequest) -> Answer:
        if r.method == "HEAD":
            return Answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n")
        if r.target == "/gone":
            return Answer(b"HTTP/1.1 204 No Content\r\n\r\n")
        if r.target == "/same":
            return Answer(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n")
        return ok()

    server = serve(answer)
    with client(server.url, timeout=2) as http:
        assert http.request("HEAD", "/case").content == b""
        assert http.delete("/gone").status_code == 204
        assert http.get("/same", ok=lambda r: r.status_code == 304).content == b""
        assert http.json(http.get("/case"), dict) == {"ok": True}
    assert [r.connection for r in server.requests] == [1, 1, 1, 1]


def test_a_chunked_answer_is_read_whole_and_the_connection_kept(serve: Callable[..., RawServer]) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'7\r\n{"ok": \r\n5\r\ntrue}\r\n0\r\n\r\n'
    )
    server = serve(lambda r: Answer(chunked))
    with client(server.url) as http:
        assert http.json(http.get("/a"), dict) == {"ok": True}
        assert http.json(http.get("/b"), dict) == {"ok": True}
    assert [r.connection for r in server.requests] == [1, 1]


def test_a_gzip_answer_is_decoded_by_httpx_not_the_transport(serve: Callable[..., RawServer]) -> None:
    body = gzip.compress(b'{"ok": true, "zipped": "yes"}')
    server = serve(lambda r: ok(body, headers="Content-Encoding: gzip\r\n"))
    with client(server.url) as http:
        assert http.json(http.get("/a"), dict) == {"ok": True, "zipped": "yes"}


def test_the_request_goes_out_as_httpx_built_it(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda r: ok())
    with client(server.url + "/api/v2") as http:
        http.post("/cases/1", params={"q": "a b/é"}, json={"title": "é"}, headers={"X-Extra": "1"})
    request = server.requests[0]
    assert request.target == "/api/v2/cases/1?q=a+b%2F%C3%A9"
    assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert request.headers["x-extra"] == "1" and request.headers["user-agent"].startswith("testplan-bridge/")
    assert request.headers["content-type"] == "application/json"
    assert request.body == '{"title":"é"}'.encode()
    assert request.headers["content-length"] == str(len(request.body))


# --------------------------------------------------------------------------------------------- proxies


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_named_by_the_environment_is_used(
    serve: Callable[..., RawServer], no_proxy_env: pytest.MonkeyPatch, variable: str
) -> None:
    """httpx mounts the environment's proxies only when it is given no transport: with one named, the client
    keeps httpx's own transports (ALL_PROXY is mounted for "all://", where no transport of ours may sit)."""
    proxy = serve(lambda r: ok())
    no_proxy_env.setenv(variable, proxy.url)
    with client("http://api.bridge-test.invalid/v1") as http:
        assert http.json(http.get("/cases"), dict) == {"ok": True}
    assert [r.target for r in proxy.requests] == ["http://api.bridge-test.invalid/v1/cases"]


def test_no_proxy_hosts_are_reached_directly(serve: Callable[..., RawServer], no_proxy_env: pytest.MonkeyPatch) -> None:
    proxy, direct = serve(lambda r: ok(b'{"via": "proxy"}')), serve(lambda r: ok(b'{"via": "direct"}'))
    no_proxy_env.setenv("HTTP_PROXY", proxy.url)
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    with client(direct.url) as http:
        assert http.json(http.get("/cases"), dict) == {"via": "direct"}
    assert proxy.requests == []


# ------------------------------------------------------------------------------ what httpx does above it


def test_a_cookie_an_answer_sets_goes_with_the_next_requests(serve: Callable[..., RawServer]) -> None:
    """The client's cookie jar skips answers without Set-Cookie (bridge/http_sender.py): one with it still
    counts, and only it."""
    server = serve(lambda r: ok(headers="Set-Cookie: session=abc; Path=/\r\n") if r.target == "/login" else ok())
    with client(server.url) as http:
        http.get("/before")
        http.post("/login", json={})
        http.get("/after")
        http.get("/later")
    assert [r.headers.get("cookie") for r in server.requests] == [None, None, "session=abc", "session=abc"]


@pytest.mark.parametrize("base", ["", "/api/v2", "/api/v2/"])
def test_urls_are_joined_to_the_base_as_httpx_joins_them(serve: Callable[..., RawServer], base: str) -> None:
    """Each url is joined to the base once and remembered (bridge/http_sender.py): the targets are httpx's."""
    server = serve(lambda r: ok())
    calls: list[tuple[str, dict[str, str] | None]] = [
        ("/index.php?/api/v2/get_case/12", None),
        ("/index.php?/api/v2/get_cases/1", {"offset": "250", "section_id": "3"}),
        ("/index.php?/api/v2/get_cases/1", {"offset": "500"}),
        ("cases/a b", {"q": '{"where": {"id": 3}}'}),
        ("/cases/%C3%A9?x=1", None),
        ("", None),
        (f"{server.url}/elsewhere", None),
    ]
    reference = httpx.Client(base_url=server.url + base)
    with client(server.url + base) as http:
        for url, params in calls * 2:  # the second time from what was remembered
            http.get(url, params=params)
    expected = [reference.build_request("GET", url, params=params).url.raw_path.decode() for url, params in calls]
    assert [r.target for r in server.requests] == expected * 2
