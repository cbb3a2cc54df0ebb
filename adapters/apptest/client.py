"""apptest.ai CI API client: start a test set, poll its status, fetch its JUnit result.

Every answer is an envelope ``{"data": {...}, "result_code": 0, "result_msg": "", "reason": ""}``; a
``result_code`` other than 0 is an error whatever the HTTP status (the vendor page shows the codes in the
body). Codes are mapped to clear messages (:data:`RESULT_CODES`); 8000 (maintenance) is waited out and
retried, 4xxx (bad request) never is. Bodies are parsed strictly as JSON (the vendor's own examples use
single quotes): a body that is not JSON is reported with its first characters.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.apptest.settings import AppTestSettings
from bridge.errors import (
    AuthError,
    NotFound,
    RemoteError,
    ServerError,
    TransportError,
    UnexpectedAnswer,
    ValidationFailed,
)
from bridge.http import HttpClient
from bridge.polling import MAX_PAUSE, poll_until

log = logging.getLogger("adapters.apptest")

SYSTEM = "apptest"
APP_EXTENSIONS = (".ipa", ".zip", ".app", ".apk", ".xapk", ".apks")
MAINTENANCE = 8000
RUNNING_YET = 6002
#: how long maintenance (8000) is waited out before giving up, and the longest pause between polls
MAINTENANCE_RETRIES = 5
MAX_POLL_INTERVAL = MAX_PAUSE

#: result_code -> what it means for the user (the vendor's table, in plain words)
RESULT_CODES: dict[int, str] = {
    4000: "a required parameter is missing",
    4030: "the iOS app file could not be analysed (Info.plist)",
    4031: "the IPA must be a development build signed with your development certificate",
    4032: "the app file is not valid",
    4040: "the Android manifest could not be parsed",
    4041: "the app has no launchable activity (android.intent.category.LAUNCHER)",
    4050: "file extension not supported (use ipa, zip, app, apk, xapk or apks)",
    4051: "the app file is missing from the request",
    4052: "the project id is not valid for this account",
    4053: "the test set id is not valid for this account",
    4055: "no device of the project is compatible with this app",
    4080: "the project's preset has no device information",
    4081: "the project's preset has no available device",
    5001: "apptest.ai failed to start the test set (server error)",
    5002: "apptest.ai failed to report the test set status (server error)",
    5003: "apptest.ai failed to return the test set result (server error)",
    6001: "the app file upload failed",
    6002: "the test set is still running; the result is available when it completes",
    6003: "no result data exists for this test set",
    8000: "apptest.ai is under maintenance",
}


class AppTestError(RemoteError):
    """An answer with a non-zero result_code."""

    def __init__(self, result_code: int, message: str, **kw: Any) -> None:
        super().__init__(message, code=str(result_code), **kw)
        self.result_code = result_code


class AppTestBadRequest(AppTestError, ValidationFailed):
    """4xxx: the request is wrong; repeating it will not help."""


class AppTestNotFound(AppTestError, NotFound):
    """6003: no data for the test set."""


class AppTestServerError(AppTestError, ServerError):
    """5xxx, 6001, 8000 (after the maintenance retries ran out)."""


def error_for_code(result_code: int, body: dict[str, Any], *, method: str, route: str, status: int) -> AppTestError:
    meaning = RESULT_CODES.get(result_code, "unknown apptest.ai error")
    detail = " ".join(str(body.get(k) or "").strip() for k in ("result_msg", "reason")).strip()
    message = f"{meaning}" + (f" ({detail})" if detail and detail != "0" else "")
    kw: dict[str, Any] = {"system": SYSTEM, "method": method, "route": route, "status": status}
    if result_code == MAINTENANCE:
        kw["hint"] = "The service is under maintenance: try again later."
    if 4000 <= result_code < 5000:
        return AppTestBadRequest(result_code, message, **kw)
    if result_code == 6003:
        return AppTestNotFound(result_code, message, **kw)
    return AppTestServerError(result_code, message, **kw)


def _route(request: httpx.Request) -> str:
    path = request.url.path
    if path.endswith("/result"):
        return "/openapi/v2/testset/{id}/result"
    if path.rstrip("/") == "/openapi/v2/testset":
        return "/openapi/v2/testset"
    return "/openapi/v2/testset/{id}"


def _error_for(response: httpx.Response, route: str) -> RemoteError | None:
    """HTTP errors that still carry an envelope keep the vendor's code; 401 without one is a credential problem."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("result_code"), int) and body["result_code"]:
        return error_for_code(
            body["result_code"], body, method=response.request.method, route=route, status=response.status_code
        )
    if response.status_code in (401, 403):
        return AuthError(
            "apptest.ai refused the credentials",
            system=SYSTEM,
            method=response.request.method,
            route=route,
            status=response.status_code,
            hint="Check user_id and access_key (apptest.ai > My page > API access key).",
        )
    return None


@dataclass(frozen=True)
class TestsetRequest:
    """What a test set is started with (the ``data`` part of the start call), with the vendor's limits."""

    __test__ = False

    project_id: int
    name: str
    time_limit: int | None = None
    use_vo: bool = False
    callback: str | None = None
    login_id: str | None = None
    login_pw: str | None = field(default=None, repr=False)

    def problems(self, app: Path) -> list[str]:
        """What apptest.ai would refuse, found before the app is uploaded."""
        out: list[str] = []
        if app.suffix.lower() not in APP_EXTENSIONS:
            out.append(f"{app.name}: {RESULT_CODES[4050]}")
        if self.project_id <= 0:
            out.append(f"project id {self.project_id}: expected a positive number")
        if not 0 < len(self.name) <= 100:
            out.append("the test set name must be 1 to 100 characters")
        if self.time_limit is not None and not 5 <= self.time_limit <= 30:
            out.append(f"time limit {self.time_limit}: apptest.ai takes 5 to 30 minutes")
        if self.callback is not None and (
            len(self.callback) > 250 or not self.callback.startswith(("https://", "http://"))
        ):
            out.append("the callback must be an http(s) URL of at most 250 characters")
        if (self.login_id is None) != (self.login_pw is None):
            out.append("the test login needs both an id and a password")
        if any(len(v) > 150 for v in (self.login_id or "", self.login_pw or "")):
            out.append("the test login id and password take at most 150 characters each")
        return out

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"pid": self.project_id, "testset_name": self.name, "use_vo": self.use_vo}
        if self.time_limit is not None:
            # the vendor's table spells it "time_limmit" but its example and service use "time_limit"
            data["time_limit"] = self.time_limit
        if self.callback:
            data["callback"] = self.callback
        if self.login_id is not None and self.login_pw is not None:
            data["credentials"] = {"login_id": self.login_id, "login_pw": self.login_pw}
        return data


@dataclass
class StartedTestset:
    testset_id: int
    test_count: int


@dataclass
class TestsetStatus:
    __test__ = False

    testset_id: int
    status: str  # "Complete" | "Running"
    detail: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.status.lower() == "complete"

    def summary(self) -> str:
        d = self.detail
        names = [
            ("pass_cnt", "passed"),
            ("fail_cnt", "failed"),
            ("error_cnt", "errors"),
            ("stop_cnt", "stopped"),
            ("running_cnt", "running"),
            ("initializing_cnt", "initializing"),
        ]
        parts = [f"{d[k]} {label}" for k, label in names if d.get(k)]
        return f"{d.get('total_test_cnt', 0)} test(s)" + (": " + ", ".join(parts) if parts else "")


class DeadlineExceeded(RemoteError):
    """The test set did not complete before the deadline."""


class AppTestClient:
    def __init__(
        self,
        name: str,
        settings: AppTestSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self.http = HttpClient(
            SYSTEM,
            settings.named(name).http_settings(),
            auth=httpx.BasicAuth(settings.user_id, settings.access_key.get_secret_value()),
            route_of=_route,
            error_for=_error_for,
            sleep=sleep,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AppTestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the three calls --------------------------------------------------------------------------
    def _call(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        """One call with its envelope checked; maintenance (8000) waited out a few times, nothing else."""
        for attempt in range(MAINTENANCE_RETRIES + 1):
            try:
                response = self.http.request(method, url, **kw)
                body = self.http.json(response, dict)
                code = body.get("result_code", 0)
                if code in (0, "0", None):
                    data = body.get("data")
                    return data if isinstance(data, dict) else {}
                if not str(code).isdigit():
                    raise self.http.shape_error(response, f"result_code {code!r} is not a number")
                raise error_for_code(
                    int(code), body, method=method, route=_route(response.request), status=response.status_code
                )
            except AppTestError as exc:
                if exc.result_code != MAINTENANCE or attempt == MAINTENANCE_RETRIES:
                    raise
                pause = min(MAX_POLL_INTERVAL, self.settings.poll_interval * 2**attempt) * random.uniform(0.8, 1.0)
                log.warning("apptest.ai is under maintenance; retrying in %.0f s", pause)
                self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def start_testset(self, app: Path, request: TestsetRequest) -> StartedTestset:
        """``POST /openapi/v2/testset``: multipart ``app_file`` + ``data`` (JSON)."""
        problems = request.problems(app)
        if problems:
            raise ValidationFailed("; ".join(problems), system=SYSTEM, hint="Nothing was uploaded.")
        with app.open("rb") as fh:
            content = fh.read()
        try:
            # safe to repeat only when the request never reached the server (HttpClient decides)
            out = self._call(
                "POST",
                "/openapi/v2/testset",
                files={"app_file": (app.name, content, "application/octet-stream")},
                data={"data": json.dumps(request.data())},
            )
        except TransportError as exc:
            if exc.maybe_applied:
                exc.hint = "The test set may have started: check apptest.ai before starting it again."
            raise
        if not str(out.get("testset_id", "")).isdigit():
            raise UnexpectedAnswer(
                f"the answer names no test set id: {json.dumps(out)[:120]}",
                system=SYSTEM,
                method="POST",
                route="/openapi/v2/testset",
                hint="The test set may have started: check apptest.ai before starting it again.",
            )
        return StartedTestset(int(out["testset_id"]), int(out.get("test_count") or 0))

    def status(self, testset_id: int) -> TestsetStatus:
        data = self._call("GET", f"/openapi/v2/testset/{testset_id}")
        detail = data.get("testset_status_detail") or {}
        return TestsetStatus(
            testset_id,
            str(data.get("testset_status") or ""),
            {k: int(v) for k, v in detail.items() if isinstance(v, (int, float))},
        )

    def result_xml(self, testset_id: int) -> str:
        data = self._call("GET", f"/openapi/v2/testset/{testset_id}/result")
        xml = data.get("result_xml")
        if not isinstance(xml, str) or not xml.strip():
            raise ServerError(
                f"test set {testset_id}: the result has no JUnit XML",
                system=SYSTEM,
                route="/openapi/v2/testset/{id}/result",
            )
        return xml

    # ---- waiting ----------------------------------------------------------------------------------
    def wait(self, testset_id: int, *, timeout: float) -> TestsetStatus:
        """Poll until the test set completes; the pause grows (x1.5, at most a minute); give up at ``timeout``."""
        return poll_until(
            lambda: self.status(testset_id),
            lambda current: current.complete,
            timeout=timeout,
            pause=self.settings.poll_interval,
            on_timeout=lambda current: DeadlineExceeded(
                f"test set {testset_id} did not complete within {timeout:.0f} s ({current.summary()})",
                system=SYSTEM,
                hint="Nothing was posted. Raise --deadline, or push it later with --testset-id.",
            ),
            clock=self._clock,
            sleep=self._sleep,
        )


def check(name: str, settings: AppTestSettings) -> str:
    """Online check for ``testplan-bridge check --online``: a status call on test set 0 must be refused as an
    invalid id (4053), which proves the credentials were accepted, without starting anything."""
    with AppTestClient(name, settings) as client:
        try:
            client.status(0)
        except AppTestBadRequest as exc:
            if exc.result_code != 4053:
                raise
        return f"{name} (apptest.ai at {settings.url}, user {settings.user_id})"
