"""Serving the review pages with the standard library's threaded HTTP server (no JavaScript, no build)."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bridge.errors import ConfigError
from bridge.review.web import Request, Response, is_loopback

log = logging.getLogger("bridge.review")
MAX_BODY = 1 << 20  # a decision form is small; anything larger is not one


def read_request(handler: BaseHTTPRequestHandler) -> Request:
    headers = {k.lower(): v for k, v in handler.headers.items()}
    length = int(headers.get("content-length") or 0)
    body = handler.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
    return Request(handler.command, handler.path, headers, body)


def write_response(handler: BaseHTTPRequestHandler, response: Response) -> None:
    handler.send_response(response.status)
    for name, value in response.all_headers().items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(response.body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(response.body)


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer

    def _serve(self) -> None:
        if int(self.headers.get("content-length") or 0) > MAX_BODY:
            write_response(self, Response(413, b"request too large", "text/plain"))
            return
        write_response(self, self.server.app.handle(read_request(self)))

    do_GET = do_POST = do_HEAD = _serve  # noqa: N815 (http.server's naming)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # the request line may carry ?token=: only the method, the path without its query, and the status
        log.debug("review request", extra={"method": self.command, "path": self.path.split("?", 1)[0]})


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, app: Any) -> None:
        self.app = app
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def check_bind(host: str, token: str | None, where: str) -> None:
    """Loopback needs nothing; any other address a token from the config."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"{where}: the review pages on {host} (not loopback) need a token",
            hint="Set [ui] token (or token_file) in the config, or serve on 127.0.0.1.",
        )


def bind(host: str, port: int, app: Any, where: str) -> ReviewServer:
    try:
        return ReviewServer(host, port, app)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from None
