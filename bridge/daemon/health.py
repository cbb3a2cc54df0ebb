"""The daemon's small HTTP endpoint: GET /healthz (JSON) and GET /metrics (Prometheus text).

Bound to loopback by default (``[daemon] http_host``): it is meant for a local agent or a reverse proxy, and it
says nothing secret, but it has no authentication. The server is bound before the daemon starts, so a port
already in use is a start-up error rather than a silent daemon without health checks.

Health is about the jobs, not only the process: a daemon whose every run fails is not healthy. /healthz
answers 503 with the reasons when the store cannot be reached, when a job has failed
``[daemon] unhealthy_after_failures`` runs in a row, or when a job has not succeeded for
``[daemon] unhealthy_after_periods`` periods of its schedule (counted from the daemon's start for a job that
never succeeded). :func:`job_health` decides it from the job's runs, as a pure function.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mappings.tables import Run, as_utc

log = logging.getLogger("bridge.daemon")

#: (HTTP status, JSON body) of /healthz
HealthFn = Callable[[], tuple[int, dict[str, Any]]]
MetricsFn = Callable[[], str]


@dataclass(frozen=True)
class HealthRules:
    failures: int = 3  # failed runs in a row
    periods: float = 3.0  # schedule periods without a success


def job_health(
    runs: Sequence[Run], *, every: timedelta, now: datetime, watching_since: datetime, rules: HealthRules
) -> dict[str, Any]:
    """The health of one job from its runs (newest first): last run, last success and its age, and whether
    (and why) it is unhealthy. Dry runs are left out; a run still going neither fails nor succeeds."""
    real = [r for r in runs if not r.dry_run]
    last = real[0] if real else None
    success = next((r for r in real if r.status == "ok"), None)
    streak = 0
    for r in real:
        if r.status == "running":
            continue
        if r.status != "failed":
            break
        streak += 1
    succeeded = as_utc(success.finished_at or success.started_at) if success else None
    age = now - (succeeded or watching_since)
    reasons = []
    if streak >= rules.failures:
        first_error = (real[0].errors or [""])[0] if real else ""
        reasons.append(f"failed {streak} runs in a row" + (f" (last: {first_error[:200]})" if first_error else ""))
    if age >= every * rules.periods:
        since = "no successful run" if succeeded is None else "no successful run since " + _iso(succeeded)
        reasons.append(f"{since} for {_span(age)}, more than {rules.periods:g} periods of {_span(every)}")
    return {
        "last_run": None
        if last is None
        else {
            "id": last.id,
            "status": last.status,
            "started_at": _iso(as_utc(last.started_at)),
            "finished_at": _iso(as_utc(last.finished_at)) if last.finished_at else None,
            "last_seen": _iso(as_utc(last.heartbeat_at)) if last.heartbeat_at else None,
        },
        "last_success": _iso(succeeded) if succeeded else None,
        "last_success_age_s": round(age.total_seconds(), 1) if succeeded else None,
        "failures_in_a_row": streak,
        "period_s": every.total_seconds(),
        "healthy": not reasons,
        "reasons": reasons,
    }


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0 or seconds >= 10 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
            elif self.server.review is not None:
                self._review()
            else:
                self._send(404, "text/plain", self.server.review_off.encode())
        except Exception as exc:  # a broken probe must answer, not hang the client
            log.warning("health endpoint error", extra={"path": path, "error": str(exc)})
            self._send(500, "text/plain", b"internal error\n")

    def do_POST(self) -> None:  # noqa: N802
        if self.server.review is None:
            self._send(404, "text/plain", self.server.review_off.encode())
            return
        try:
            self._review()
        except Exception as exc:
            log.warning("review page error", extra={"error": str(exc)})
            self._send(500, "text/plain", b"internal error\n")

    def _review(self) -> None:
        """The review pages (:mod:`bridge.review`) on the same port as the probes."""
        from bridge.review.server import MAX_BODY, read_request, write_response
        from bridge.review.web import Response

        if int(self.headers.get("content-length") or 0) > MAX_BODY:
            write_response(self, Response(413, b"request too large", "text/plain"))
            return
        write_response(self, self.server.review.handle(read_request(self)))

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
        #: the review pages' app (bridge.review.app.ReviewApp), when the daemon serves them
        self.review: Any = None
        self.review_off = "not found: try /healthz or /metrics\n"
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
