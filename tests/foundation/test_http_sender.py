"""SenderClient's shortcuts (bridge/http_sender.py) give what httpx's own build_request and send give.

Requests are compared field by field with httpx.Client's (method, url, header list in order, body,
extensions) for the bodies and client headers the adapters use; answers are compared after a real exchange
with the loopback server, sent once through the shortcut and once through httpx's send loop.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bridge.http import _tls_context
from bridge.http_sender import SenderClient
from bridge.http_transport import StdlibTransport

from .loopback import Script

CLIENT_HEADERS: list[dict[str, str]] = [
    {},
    {"Content-Type": "application/json;charset=UTF-8"},  # CodeArts: the client's type wins over the body's
    {"Authorization": "Bearer tpi_x", "Host": "example.test"},
    {"content-length": "5"},
]
BODIES: list[dict[str, Any]] = [
    {},
    {"json": {"name": "é ✓", "steps": [1, 2.5, None, True], "nested": {"a": []}}},
    {"json": []},
    {"content": b""},
    {"content": b"raw bytes"},
    {"content": "text é"},
]


def shape(request: httpx.Request) -> tuple[Any, ...]:
    return request.method, str(request.url), request.headers.raw, request.content, request.extensions


@pytest.mark.parametrize("headers", CLIENT_HEADERS)
@pytest.mark.parametrize("method", ["GET", "post", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("body", BODIES)
def test_build_request_is_httpx_s(headers: dict[str, str], method: str, body: dict[str, Any]) -> None:
    with SenderClient(base_url="http://127.0.0.1:9/api/", headers={"User-Agent": "t", **headers}) as client:
        url = httpx.URL("http://127.0.0.1:9/api/model/x/create")
        assert shape(client.build_request(method, url, **body)) == shape(
            httpx.Client.build_request(client, method, url, **body)
        )


def test_build_request_with_params_or_headers_goes_through_httpx() -> None:
    with SenderClient(base_url="http://127.0.0.1:9/") as client:
        url = httpx.URL("http://127.0.0.1:9/x")
        for extra in ({"params": {"q": "{}"}}, {"headers": {"X-A": "1"}}, {"data": {"a": "1"}}):
            ours = client.build_request("POST", url, json={"a": 1}, **extra)
            assert shape(ours) == shape(httpx.Client.build_request(client, "POST", url, json={"a": 1}, **extra))


def answer_shape(response: httpx.Response) -> tuple[Any, ...]:
    return (
        response.status_code,
        [(k, v) for k, v in response.headers.raw if k.lower() != b"date"],
        response.content,
        response.request is not None,
        response.default_encoding,
        response.is_closed,
        response.next_request is not None,
        response.elapsed.total_seconds() >= 0,
        response.history,
    )


@pytest.mark.parametrize("answer", [(200, {}, b'{"ok": 1}'), (302, {"Location": "/elsewhere"}, b"{}"), (500, {}, b"")])
def test_send_gives_what_httpx_s_send_gives(
    script: Script, server_url: str, answer: tuple[int, dict[str, str], bytes]
) -> None:
    hooked: list[int] = []
    with SenderClient(
        base_url=server_url,
        transport=StdlibTransport(_tls_context(True)),
        event_hooks={"response": [lambda r: hooked.append(r.status_code)]},
    ) as client:
        got = []
        for send in (client.send, lambda r: httpx.Client.send(client, r)):
            script.queue("/sent", answer)
            got.append(answer_shape(send(client.build_request("POST", f"{server_url}/sent", json={"a": 1}))))
        assert got[0] == got[1]
        assert hooked == [answer[0], answer[0]]
        assert [a.body for a in script.seen("/sent")] == [b'{"a":1}', b'{"a":1}']


def test_send_keeps_cookies_the_server_sets(script: Script, server_url: str) -> None:
    with SenderClient(base_url=server_url, transport=StdlibTransport(_tls_context(True))) as client:
        script.queue("/login", (200, {"Set-Cookie": "session=abc; Path=/"}, b"{}"))
        client.send(client.build_request("GET", f"{server_url}/login"))
        assert client.cookies.get("session") == "abc"
        client.send(client.build_request("GET", f"{server_url}/next"))  # httpx's path now: the jar has a cookie
        assert script.seen("/next")[0].headers.get("cookie") == "session=abc"


def test_plain_requests_skip_httpx_s_merging_and_send_loop(
    script: Script, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcuts are taken: a plain create neither merges through httpx nor enters its auth/redirect loop."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("httpx's general path was used")

    monkeypatch.setattr(httpx.Client, "_merge_headers", refuse)
    monkeypatch.setattr(httpx.Client, "_send_handling_auth", refuse)
    with SenderClient(base_url=server_url, transport=StdlibTransport(_tls_context(True))) as client:
        response = client.send(client.build_request("POST", f"{server_url}/plain", json={"a": 1}))
    assert response.status_code == 200
    assert script.seen("/plain")[0].body == b'{"a":1}'
