"""The daemon's small HTTP endpoint: GET /healthz (JSON) and GET /metrics (Prometheus text).

Bound to loopback by default (``[daemon] http_host``): it is meant for a local agent or a reverse proxy, and it
says nothing secret, but it has no authentication. The server is bound before the daemon starts, so a port
already in use is a start-up error rather than a silent daemon without health checks.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("bridge.daemon")

#: (HTTP status, JSON body) of /healthz
HealthFn = Callable[[], tuple[int, dict[str, Any]]]
MetricsFn = Callable[[], str]


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        try:
            if path == "/healthz":
                status, body = self.server.health()
                self._send(status, "application/json", json.dumps(body, default=str).encode())
            elif path == "/metrics":
                self._send(200, "text/plain; version=0.0.4; charset=utf-8", self.server.metrics().encode())
            else:
                self._send(404, "text/plain", b"not found: try /healthz or /metrics\n")
        except Exception as exc:  # a broken probe must answer, not hang the client
            log.warning("health endpoint error", extra={"path": path, "error": str(exc)})
            self._send(500, "text/plain", b"internal error\n")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # probes every few seconds would drown the job events


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, health: HealthFn, metrics: MetricsFn) -> None:
        super().__init__((host, port), _Handler)
        self.health = health
        self.metrics = metrics
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="tpb-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
        self.server_close()
