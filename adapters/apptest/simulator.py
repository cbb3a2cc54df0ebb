"""An in-process apptest.ai CI API (the three calls) for tests and the demo.

- ``POST /openapi/v2/testset`` (multipart ``app_file`` + ``data`` JSON) starts a test set on the project's
  devices; ``GET /openapi/v2/testset/{id}`` reports ``Running`` until the set has been polled
  ``polls_to_complete`` times (``never_complete`` keeps it running); ``GET .../{id}/result`` answers 6002
  while it runs, then the JUnit XML (one ``<testcase>`` per device, ``<error>`` for a failed device).
- Errors are envelopes with HTTP 200 and a ``result_code`` (the vendor page documents codes in the body,
  not HTTP statuses; assumed the same for every code). Bad credentials: HTTP 401 without an envelope
  (assumption: the page does not say; a gateway in front of the API answers that way).
- The start call's ``data`` is checked against the vendor page's table (:meth:`_refuse_start_data`) and kept
  in ``uploads``, so tests see what a client really sent (``use_vo``, ``callback``, ``credentials``, ...).
- ``queue_codes("start"|"status"|"result", 8000, ...)`` makes the next calls of that kind answer the given
  result_codes (tests of maintenance retries and error messages).

Like every simulator it imports nothing from its system's client: the codes, messages and limits below are
its own reading of the vendor page, so a test through it compares two independent readings.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from typing import Any, ClassVar
from xml.sax.saxutils import escape, quoteattr

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.simulation import ASGIApp, Faults, Simulator

#: the vendor page's appendix "API Result Codes": result_code -> (result_msg, reason), as the service
#: writes them ({...} placeholders filled in where the simulator knows the value)
VENDOR_CODES: dict[int, tuple[str, str]] = {
    4000: ("Missing Request Parameter", "The required parameter was not found in the request parameters : ({key})"),
    4030: ("App File Analysis Failed", "iOS plistlib Parsing Error : {detail}"),
    4031: (
        "App File Analysis Failed",
        "Test creation failed : There was a problem pre-processing your app file. \n the IPA file must be a "
        "development version that is signed by your development certificate.",
    ),
    4032: (
        "App File Analysis Failed",
        "Test creation failed : Invalid app file. \n There was a problem pre-processing your app file.",
    ),
    4040: ("App File Analysis Failed", "Android Manifest Parsing Error : {detail}"),
    4041: ("App File Analysis Failed", "No launchable activity found. (android.intent.category.LAUNCHER)"),
    4050: ("Invalid Request Parameter", "File extension not supported. (support : ipa, zip, app, apk, xapk, apks)"),
    4051: ("Invalid Request Parameter", "The required parameter was not found in the request parameters: (app_file)"),
    4052: ("Invalid Request Parameter", "Invalid request parameter : (project_id : {value})"),
    4053: ("Invalid Request Parameter", "Invalid request parameter : (testset_id : {value})"),
    4055: ("Invalid Request Parameter", "Device is not compatible with this app : (App os type : {value})"),
    4080: ("Invalid Request Parameter", "Device info does not exist in preset project data."),
    4081: ("Invalid Request Parameter", "Available devices does not exist in preset project data."),
    5001: ("Run New Testset Error", "Global Exception Error - {detail}"),
    5002: ("Get Testset Status Error", "Global Exception Error - {detail}"),
    5003: ("Get Testset Result Data Error", "Global Exception Error - {detail}"),
    6001: ("App File Upload Error", "App file upload fail."),
    6002: ("Get Testset Result Data Failed", "Test is running yet. Please request when the test is complete."),
    6003: ("Data Does Not Exist", "Test data does not exist."),
    8000: ("System Maintenance", "The service is currently under system maintenance."),
}
#: "Support : ipa, zip, app, apk, xapk, apks" (code 4050)
SUPPORTED_FILES = ("ipa", "zip", "app", "apk", "xapk", "apks")
#: the start call's documented limits (characters)
NAME_MAX, CALLBACK_MAX, CREDENTIAL_MAX = 100, 250, 150

DEVICES = ("Galaxy S23", "Pixel 8", "iPhone 15", "Galaxy A54", "Xperia 10", "iPad Air")
PROJECTS = {509: "Shop App", 510: "Bank App"}


class AppTestSimulator(Simulator):
    system: ClassVar[str] = "apptest"

    def __init__(
        self,
        *,
        seed: int | None = None,
        faults: Faults | None = None,
        polls_to_complete: int = 2,
        never_complete: bool = False,
        devices: int = 3,
        failing_devices: int = 1,
    ) -> None:
        super().__init__(seed=seed, faults=faults)
        self.user_id = "tpb-sim-user"
        self.access_key = "tpb-sim-" + (f"{seed:08d}" if seed is not None else "00000000") + "-access"
        self.polls_to_complete = polls_to_complete
        self.never_complete = never_complete
        self.devices = devices
        self.failing_devices = failing_devices
        self.lock = threading.Lock()
        self.testsets: dict[int, dict[str, Any]] = {}
        self.uploads: list[dict[str, Any]] = []  # what each start received (tests check the multipart form)
        self._codes: dict[str, deque[int]] = {"start": deque(), "status": deque(), "result": deque()}
        self._next_id = 251929
        if seed is not None:  # one finished test set to fetch with --testset-id
            self._new_testset(509, "Seeded nightly", complete=True)

    def credentials(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "access_key": self.access_key}

    def queue_codes(self, call: str, *codes: int) -> None:
        with self.lock:
            self._codes[call].extend(codes)

    # ------------------------------------------------------------------------------------------- state
    def _new_testset(self, pid: int, name: str, *, complete: bool = False) -> dict[str, Any]:
        with self.lock:
            tid = self._next_id
            self._next_id += 1
            devices = [
                DEVICES[i % len(DEVICES)] + (f" #{i // len(DEVICES) + 1}" if i >= len(DEVICES) else "")
                for i in range(self.devices)
            ]
            testset = {
                "id": tid,
                "pid": pid,
                "name": name,
                "devices": devices,
                "failing": set(devices[len(devices) - self.failing_devices :]) if self.failing_devices else set(),
                "polls": self.polls_to_complete if complete else 0,
                "complete": complete,
            }
            self.testsets[tid] = testset
            return testset

    def _poll(self, testset: dict[str, Any]) -> bool:
        with self.lock:
            if not testset["complete"] and not self.never_complete:
                testset["polls"] += 1
                testset["complete"] = testset["polls"] >= self.polls_to_complete
            return bool(testset["complete"])

    def junit(self, testset: dict[str, Any]) -> str:
        project = PROJECTS.get(testset["pid"], f"Project {testset['pid']}")
        cases = []
        for i, device in enumerate(testset["devices"]):
            url = f"https://app.apptest.ai/#/main/testDetail/{testset['id']}/{i + 1}"
            if device in testset["failing"]:
                cases.append(
                    f'    <testcase name={quoteattr(device)} time="{61 + i}">\n'
                    f"      <error message={quoteattr(url)} />\n    </testcase>"
                )
            else:
                cases.append(
                    f'    <testcase name={quoteattr(device)} time="{60 + i}">\n'
                    f"      <system-out>{escape(url)}</system-out>\n    </testcase>"
                )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="TestBot Test">\n'
            f"  <testsuite name={quoteattr(project + '.TestBot')}>\n"
            + "\n".join(cases)
            + "\n  </testsuite>\n</testsuites>\n"
        )

    # ----------------------------------------------------------------------------------------- answers
    def _queued(self, call: str) -> int | None:
        with self.lock:
            return self._codes[call].popleft() if self._codes[call] else None

    @staticmethod
    def ok(data: dict[str, Any]) -> JSONResponse:
        return JSONResponse({"data": data, "result_code": 0, "result_msg": "", "reason": ""})

    @staticmethod
    def fail(code: int, **values: Any) -> JSONResponse:
        """An error envelope as the vendor's table writes it; errors come with HTTP 200 (see module doc)."""
        msg, reason = VENDOR_CODES[code]
        filled = {"key": "", "detail": "", "value": "", **values}
        return JSONResponse({"data": {}, "result_code": code, "result_msg": msg, "reason": reason.format(**filled)})

    def _refuse_start_data(self, data: dict[str, Any]) -> JSONResponse | None:
        """The documented fields of the start call's ``data``, checked as the vendor's table describes them.

        Assumptions (the page does not say): a wrongly typed or over-long value is refused as 4000 naming the
        key; an unknown key is ignored, as JSON APIs usually do.
        """
        for key in ("pid", "testset_name"):
            if key not in data:
                return self.fail(4000, key=key)
        pid = data["pid"]
        if not isinstance(pid, int) or isinstance(pid, bool) or pid not in PROJECTS:
            return self.fail(4052, value=pid)
        name = data["testset_name"]
        if not isinstance(name, str) or not 0 < len(name) <= NAME_MAX:
            return self.fail(4000, key="testset_name")
        # the table misspells the key "time_limmit"; the example (and the service) use "time_limit"
        limit = data.get("time_limit", data.get("time_limmit"))
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 5 <= limit <= 30):
            return self.fail(4000, key="time_limit")
        if "use_vo" in data and not isinstance(data["use_vo"], bool):
            return self.fail(4000, key="use_vo")
        callback = data.get("callback")
        if callback is not None and (not isinstance(callback, str) or len(callback) > CALLBACK_MAX):
            return self.fail(4000, key="callback")
        credentials = data.get("credentials")
        if credentials is not None:
            if not isinstance(credentials, dict):
                return self.fail(4000, key="credentials")
            for key in ("login_id", "login_pw"):
                value = credentials.get(key)
                if not isinstance(value, str) or not 0 < len(value) <= CREDENTIAL_MAX:
                    return self.fail(4000, key=f"credentials.{key}")
        return None

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, key = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return user == self.user_id and key == self.access_key

    def build_app(self) -> ASGIApp:
        async def start(request: Request) -> Response:
            if not self._authorized(request):
                return Response(status_code=401, content=b"Unauthorized")
            if (code := self._queued("start")) is not None:
                return self.fail(code)
            form = await request.form()
            upload = form.get("app_file")
            if upload is None or isinstance(upload, str):
                return self.fail(4051)
            filename = upload.filename or ""
            if filename.rpartition(".")[2].lower() not in SUPPORTED_FILES or "." not in filename:
                return self.fail(4050)
            raw = form.get("data")
            try:
                data = json.loads(raw) if isinstance(raw, str) else None
            except ValueError:
                data = None
            if not isinstance(data, dict):
                return self.fail(4000, key="data")
            refused = self._refuse_start_data(data)
            if refused is not None:
                return refused
            content = await upload.read()
            self.uploads.append({"filename": filename, "size": len(content), "data": data})
            testset = self._new_testset(data["pid"], data["testset_name"])
            return self.ok({"test_count": len(testset["devices"]), "testset_id": testset["id"]})

        def _testset(request: Request) -> dict[str, Any] | int:
            try:
                tid = int(request.path_params["testset_id"])
            except ValueError:
                return 4053
            found = self.testsets.get(tid)
            return found if found is not None else 4053

        async def status(request: Request) -> Response:
            if not self._authorized(request):
                return Response(status_code=401, content=b"Unauthorized")
            if (code := self._queued("status")) is not None:
                return self.fail(code)
            testset = _testset(request)
            if isinstance(testset, int):
                return self.fail(testset, value=request.path_params["testset_id"])
            done = self._poll(testset)
            total = len(testset["devices"])
            failing = len(testset["failing"])
            detail = {
                "total_test_cnt": total,
                "error_cnt": failing if done else 0,
                "fail_cnt": 0,
                "initializing_cnt": 0 if done else 1,
                "pass_cnt": total - failing if done else 0,
                "running_cnt": 0 if done else total - 1,
                "stop_cnt": 0,
            }
            return self.ok(
                {
                    "testset_status": "Complete" if done else "Running",
                    "testset_status_detail": detail,
                    "response_time": "Mon, 25 May 2020 06:40:24 GMT",
                }
            )

        async def result(request: Request) -> Response:
            if not self._authorized(request):
                return Response(status_code=401, content=b"Unauthorized")
            if (code := self._queued("result")) is not None:
                return self.fail(code)
            testset = _testset(request)
            if isinstance(testset, int):
                return self.fail(testset, value=request.path_params["testset_id"])
            if not testset["complete"]:
                return self.fail(6002)
            xml = self.junit(testset)
            return self.ok({"complete": True, "result_xml": xml, "result_html": "<html></html>", "result_json": "{}"})

        return Starlette(  # type: ignore[return-value]
            routes=[
                Route("/openapi/v2/testset", start, methods=["POST"]),
                Route("/openapi/v2/testset/{testset_id}", status, methods=["GET"]),
                Route("/openapi/v2/testset/{testset_id}/result", result, methods=["GET"]),
            ]
        )

    def server_error(self) -> tuple[int, dict[str, str], bytes]:
        return 500, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>"
