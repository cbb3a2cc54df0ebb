"""An in-process CodeArts PerfTest (cpts) for tests and the demo: the task calls the bridge uses.

Auth is checked as the API gateway does: an ``SDK-HMAC-SHA256`` signature verified with the simulators'
:func:`adapters.simulation_apig.check_signature` (the gateway's reading, not the client's signer), or an IAM
token issued by ``POST /v3/auth/tokens`` on the same app.
Routes (see :mod:`adapters.perftest.client`): create/update/delete task (v3), list a project's tasks, show a
task, start it. A started task is ``waiting`` (9) on the first look, ``running`` (0) until it has been
looked at ``polls_to_finish`` times, then ``ended`` (2); ``never_finish`` keeps it running.
Error bodies: ``{"error_code": "SVCSTG.CPTS.xxxxxxx", "error_msg": ...}`` (the cpts code family; the exact
codes are not in our references, so these are stand-ins with the real shape).
"""

from __future__ import annotations

import json
import random
import re
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from adapters.codearts.cloud_sim import Answer, HuaweiCloudAccount
from adapters.simulation import ASGIApp, CannedResponse, Faults, Receive, Scope, Send, Simulator


class _Err(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class PerfTestSimulator(HuaweiCloudAccount, Simulator):
    system: ClassVar[str] = "perftest"

    def __init__(
        self,
        *,
        seed: int | None = None,
        faults: Faults | None = None,
        polls_to_finish: int = 2,
        never_finish: bool = False,
        cases: int = 12,
        **_: Any,
    ) -> None:
        super().__init__(seed=seed, faults=faults)
        rng = random.Random(seed if seed is not None else 0)
        self.init_account(rng, iam_user="perf-user")
        self.perftest_project_id = 393862
        self.polls_to_finish = polls_to_finish
        self.never_finish = never_finish
        self.lock = threading.RLock()
        self.case_ids: set[int] = set()
        self.tasks: dict[int, dict[str, Any]] = {}
        self._next_task = 700001
        self._next_run = 900001
        if seed is not None:
            self.case_ids = {449269 + i for i in range(cases)}

    def server_error(self) -> CannedResponse:
        body = {"error_code": "SVCSTG.CPTS.5000001", "error_msg": "Internal server error."}
        return 500, {"Content-Type": "application/json"}, json.dumps(body).encode()

    # ------------------------------------------------------------------------------------------ serving
    def build_app(self) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").partition("?")[0]
            raw_query = scope.get("query_string", b"").decode("latin-1")
            try:
                status, payload, extra = self._dispatch(scope["method"], raw_path, raw_query, headers, body)
            except _Err as exc:
                status, payload, extra = exc.status, {"error_code": exc.code, "error_msg": exc.message}, {}
            data = json.dumps(payload).encode()
            out = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            out += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
            await send({"type": "http.response.start", "status": status, "headers": out})
            await send({"type": "http.response.body", "body": data})

        return app

    def _dispatch(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes) -> Answer:
        path = unquote(raw_path).rstrip("/")
        if method == "POST" and path == "/v3/auth/tokens":
            return self.issue_token(body)
        self._authenticate(method, raw_path, raw_query, headers, body)
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            raise _Err(400, "SVCSTG.CPTS.4000001", "Invalid request body.") from None
        pid = r"(?P<pid>[^/]+)"
        routes: list[tuple[str, str, Any]] = [
            ("POST", rf"/v3/{pid}/tasks", self._create),
            ("PUT", rf"/v3/{pid}/tasks/(?P<task>\d+)", self._update),
            ("DELETE", rf"/v3/{pid}/tasks/(?P<task>\d+)", self._delete),
            ("GET", rf"/v1/{pid}/all-tasks/(?P<suite>\d+)", self._list),
            ("GET", rf"/v1/{pid}/tasks/(?P<task>\d+)", self._show),
            ("POST", rf"/v1/{pid}/test-suites/(?P<suite>\d+)/tasks/(?P<task>\d+)", self._start),
            ("GET", rf"/v1/{pid}/test-suites", self._suites),
        ]
        for route_method, pattern, handler in routes:
            m = re.fullmatch(pattern, path)
            if m and route_method == method:
                params = m.groupdict()
                if params.pop("pid") != self.project_id:
                    raise _Err(404, "SVCSTG.CPTS.4040001", "The project does not exist.")
                with self.lock:
                    return handler(payload, query, **params)  # type: ignore[no-any-return]
        raise _Err(404, "APIG.0101", "The API does not exist or has not been published.")

    def _authenticate(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes) -> None:
        refused = self.refusal(method, raw_path, raw_query, headers, body)
        if refused:
            raise _Err(*refused)

    # ------------------------------------------------------------------------------------------ handlers
    def _task_fields(self, payload: dict[str, Any]) -> dict[str, Any]:
        for key in ("name", "parallel", "project_id", "operate_mode", "case_id_list"):
            if key not in payload:
                raise _Err(400, "SVCSTG.CPTS.4000002", f"The parameter {key} is required.")
        name, cases = payload["name"], payload["case_id_list"]
        if not isinstance(name, str) or not 1 <= len(name) <= 42:
            raise _Err(400, "SVCSTG.CPTS.4000003", "The task name must be 1 to 42 characters.")
        if payload["project_id"] != self.perftest_project_id:
            raise _Err(400, "SVCSTG.CPTS.4000004", f"The PerfTest project {payload['project_id']} does not exist.")
        if payload["operate_mode"] != 2:
            raise _Err(400, "SVCSTG.CPTS.4000005", "operate_mode must be 2.")
        if not isinstance(cases, list) or not all(isinstance(c, int) for c in cases):
            raise _Err(400, "SVCSTG.CPTS.4000006", "case_id_list must be a list of integers.")
        unknown = sorted(set(cases) - self.case_ids)
        if unknown:
            raise _Err(400, "SVCSTG.CPTS.4000007", f"Cases do not exist: {unknown}")
        return {"name": name, "parallel": bool(payload["parallel"]), "case_id_list": sorted(set(cases))}

    def _task(self, task: str) -> dict[str, Any]:
        found = self.tasks.get(int(task))
        if found is None:
            raise _Err(404, "SVCSTG.CPTS.4040002", "The task does not exist.")
        return found

    def _create(self, payload: dict[str, Any], query: dict[str, str]) -> Answer:
        fields = self._task_fields(payload)
        if any(t["name"] == fields["name"] for t in self.tasks.values()):
            raise _Err(400, "SVCSTG.CPTS.4000008", "A task with this name exists already.")
        tid = self._next_task
        self._next_task += 1
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        self.tasks[tid] = {
            "id": tid,
            **fields,
            "run_status": 2,
            "looks": 0,
            "update_time": now,
            "enable_full_link": bool(payload.get("enable_full_link")),
        }
        return 201, {"code": "SVCSTG.CPTS.0000000", "message": "success", "task_id": tid}, {}

    def _update(self, payload: dict[str, Any], query: dict[str, str], task: str) -> Answer:
        current = self._task(task)
        fields = self._task_fields(payload)
        current.update(fields)
        if "enable_full_link" in payload:
            current["enable_full_link"] = bool(payload["enable_full_link"])
        return 200, {"code": "SVCSTG.CPTS.0000000", "message": "success", "taskInfo": self._info(current)}, {}

    def _delete(self, payload: dict[str, Any], query: dict[str, str], task: str) -> Answer:
        self._task(task)
        del self.tasks[int(task)]
        return 200, {"code": "SVCSTG.CPTS.0000000", "message": "success"}, {}

    def _list(self, payload: dict[str, Any], query: dict[str, str], suite: str) -> Answer:
        if int(suite) != self.perftest_project_id:
            raise _Err(404, "SVCSTG.CPTS.4040003", "The PerfTest project does not exist.")
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 10))
        if limit < 1 or limit > 100:
            raise _Err(400, "SVCSTG.CPTS.4000009", "limit must be 1 to 100.")
        items = sorted(self.tasks.values(), key=lambda t: t["id"])[offset : offset + limit]
        tasks = [
            {
                "id": t["id"],
                "name": t["name"],
                "parallel": t["parallel"],
                "operate_mode": 2,
                "bench_concurrent": 0,
                "description": "",
                "update_time": t["update_time"],
            }
            for t in items
        ]
        return 200, {"code": "SVCSTG.CPTS.0000000", "message": "success", "extend": [], "tasks": tasks}, {}

    def _info(self, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": task["name"],
            "parallel": task["parallel"],
            "operate_mode": 2,
            "project_id": self.perftest_project_id,
            "run_status": task["run_status"],
            "update_time": task["update_time"],
            "case_list": [{"case_id": c, "name": f"case {c}"} for c in task["case_id_list"]],
        }

    def _show(self, payload: dict[str, Any], query: dict[str, str], task: str) -> Answer:
        current = self._task(task)
        if current["run_status"] in (9, 0):
            current["looks"] += 1
            if current["looks"] == 1:
                current["run_status"] = 9 if not self.never_finish else 0
            elif self.never_finish or current["looks"] < self.polls_to_finish:
                current["run_status"] = 0
            else:
                current["run_status"] = 2
        return 200, {"code": "SVCSTG.CPTS.0000000", "message": "success", "taskInfo": self._info(current)}, {}

    def _start(self, payload: dict[str, Any], query: dict[str, str], suite: str, task: str) -> Answer:
        current = self._task(task)
        if payload.get("status") != 9:
            raise _Err(400, "SVCSTG.CPTS.4000010", "status must be 9 to start a task.")
        if not current["case_id_list"]:
            raise _Err(400, "SVCSTG.CPTS.4000011", "The task has no cases.")
        current["run_status"], current["looks"] = 9, 0
        run_id = self._next_run
        self._next_run += 1
        return (
            200,
            {"code": "SVCSTG.CPTS.0000000", "message": "success", "extend": "", "result": {"task_run_id": run_id}},
            {},
        )

    def _suites(self, payload: dict[str, Any], query: dict[str, str]) -> Answer:
        return (
            200,
            {
                "code": "SVCSTG.CPTS.0000000",
                "message": "success",
                "projects": [{"id": self.perftest_project_id, "name": "PerfTest project"}],
            },
            {},
        )
