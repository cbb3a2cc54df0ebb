"""CodeArts PerfTest (cpts) client: tasks made of PerfTest cases, started and watched.

Same auth as CodeArts TestPlan (the AK/SK signer and IAM token auth of :mod:`adapters.codearts`). Calls:

- ``POST /v3/{project_id}/tasks {name, parallel, enable_full_link, project_id, operate_mode: 2, case_id_list}``
  -> 201 ``{code, message, task_id}``;
- ``PUT /v3/{project_id}/tasks/{task_id}`` with the same body (the SDK's UpdateNewTaskRequestBody) replaces
  the task's cases;
- ``GET /v1/{project_id}/all-tasks/{test_suite_id}?offset&limit`` lists a PerfTest project's tasks
  (``{code, message, tasks: [{id, name, ...}]}``). The API does not say whether ``offset`` counts records
  or pages; we send a record offset and stop at a short page or a page with nothing new, which is correct
  either way;
- ``POST /v1/{project_id}/test-suites/{test_suite_id}/tasks/{task_id} {"status": 9}`` starts a task
  (-> ``result.task_run_id``); ``GET /v1/{project_id}/tasks/{task_id}`` -> ``taskInfo.run_status``
  (9 waiting, 0 running, 1 paused, 2 ended, 3 aborted, 4/5 stopped by the user).

``project_id`` in the path is the Huawei Cloud project; the integer PerfTest project is
``settings.perftest_project_id`` (called test suite in the v1 paths).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.codearts.client import auth_for  # same account and gateway as TestPlan
from adapters.codearts.errors import error_body, is_throttled
from adapters.perftest.settings import PerfTestSettings
from bridge.errors import (
    ConfigError,
    NotFound,
    RemoteError,
    ServerError,
    error_class_for_status,
)
from bridge.http import HttpClient
from bridge.polling import poll_until

SYSTEM = "perftest"
PAGE = 100
RUN_STATUS = {9: "waiting", 0: "running", 1: "paused", 2: "ended", 3: "aborted", 4: "stopped", 5: "stopped"}
FINISHED = frozenset({2, 3, 4, 5})
START = 9


def _error_for(response: httpx.Response, route: str) -> RemoteError | None:
    """``{error_code, error_msg}`` (gateway and most services) or ``{code, message}`` (cpts v1/v3 bodies)."""
    body = error_body(response)
    code = body.get("error_code") or body.get("code")
    message = body.get("error_msg") or body.get("message")
    if not code and not message:
        return None
    # PerfTest's own 404 codes name the project or task that is gone; any other 404 (the gateway's APIG.0101,
    # a bare page) is a route that is not there, never a missing record
    gone = str(code or "").startswith("SVCSTG.CPTS.404")
    return (NotFound if gone else error_class_for_status(response.status_code))(
        str(message or code),
        system=SYSTEM,
        method=response.request.method,
        route=route,
        status=response.status_code,
        code=str(code) if code else None,
    )


@dataclass
class TaskStatus:
    task_id: int
    run_status: int
    name: str = ""

    @property
    def label(self) -> str:
        return RUN_STATUS.get(self.run_status, f"status {self.run_status}")

    @property
    def finished(self) -> bool:
        return self.run_status in FINISHED


class PerfTestClient:
    def __init__(
        self,
        name: str,
        settings: PerfTestSettings,
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
            auth=auth_for(settings),
            error_for=_error_for,
            is_throttled=is_throttled,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PerfTestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def suite(self) -> int:
        if self.settings.perftest_project_id is None:
            raise ConfigError(
                f"system {self.name!r}: set perftest_project_id (the PerfTest project the tasks belong to)"
            )
        return self.settings.perftest_project_id

    def _path(self, version: str, rest: str) -> str:
        return f"/{version}/{self.settings.project_id}/{rest}"

    # ---- tasks --------------------------------------------------------------------------------------
    def _task_body(
        self, name: str, case_ids: Sequence[int], parallel: bool, enable_full_link: bool | None
    ) -> dict[str, Any]:
        return {
            "name": name,
            "parallel": parallel,
            # unset: the system's setting. Sent on updates too: the update body is the create body (the SDK's
            # UpdateNewTaskRequestBody), and a field left out could fall back to the service's default
            "enable_full_link": self.settings.enable_full_link if enable_full_link is None else enable_full_link,
            "project_id": self.suite,
            "operate_mode": 2,  # fixed by the API (legacy field)
            "case_id_list": [int(c) for c in case_ids],
        }

    def create_task(
        self, name: str, case_ids: Sequence[int], *, parallel: bool = False, enable_full_link: bool | None = None
    ) -> int:
        body = self._task_body(name, case_ids, parallel, enable_full_link)
        response = self.http.post(self._path("v3", "tasks"), json=body)
        answer = self.http.json(response, dict)
        if not str(answer.get("task_id", "")).isdigit():
            raise self.http.shape_error(response, "the answer names no task_id")
        return int(answer["task_id"])

    def update_task_cases(
        self,
        task_id: int,
        name: str,
        case_ids: Sequence[int],
        *,
        parallel: bool = False,
        enable_full_link: bool | None = None,
    ) -> None:
        body = self._task_body(name, case_ids, parallel, enable_full_link)
        self.http.put(self._path("v3", f"tasks/{task_id}"), json=body)

    def list_tasks(self) -> list[dict[str, Any]]:
        tasks: dict[int, dict[str, Any]] = {}
        offset = 0
        while True:
            response = self.http.get(
                self._path("v1", f"all-tasks/{self.suite}"), params={"offset": offset, "limit": PAGE}
            )
            page = self.http.records(response, self.http.json(response, dict).get("tasks") or [], ("id",), what="task")
            new = [t for t in page if int(t["id"]) not in tasks]
            for task in new:
                tasks[int(task["id"])] = task
            if len(page) < PAGE or not new:
                return list(tasks.values())
            offset += len(page)

    def _task_info(self, task_id: int) -> tuple[httpx.Response, dict[str, Any]]:
        response = self.http.get(self._path("v1", f"tasks/{task_id}"))
        answer = self.http.json(response, dict)
        info = answer.get("taskInfo") or answer.get("task_info") or {}
        return response, self.http.record(response, info, what="taskInfo")

    def task(self, task_id: int) -> TaskStatus:
        response, info = self._task_info(task_id)
        status = info.get("run_status", -1)
        if not isinstance(status, int):
            raise self.http.shape_error(response, f"run_status {status!r} is not a number")
        return TaskStatus(task_id, status, str(info.get("name") or ""))

    def task_cases(self, task_id: int) -> list[int]:
        response, info = self._task_info(task_id)
        cases = self.http.records(response, info.get("case_list") or [], ("case_id",), what="case")
        return sorted(int(c["case_id"]) for c in cases)

    def start_task(self, task_id: int) -> int | None:
        answer = self.http.json(
            self.http.post(self._path("v1", f"test-suites/{self.suite}/tasks/{task_id}"), json={"status": START}),
            dict,
        )
        run = (answer.get("result") or {}).get("task_run_id")
        return int(run) if run is not None else None

    def wait_task(self, task_id: int, *, timeout: float, interval: float = 5.0) -> TaskStatus:
        """Poll until the task's run is over (ended, aborted or stopped), backing off to a minute at most."""
        return poll_until(
            lambda: self.task(task_id),
            lambda status: status.finished,
            timeout=timeout,
            pause=interval,
            on_timeout=lambda status: ServerError(
                f"task {task_id} is still {status.label} after {timeout:.0f} s",
                system=SYSTEM,
                hint="The task keeps running in PerfTest; raise --timeout to wait longer.",
            ),
            clock=self._clock,
            sleep=self._sleep,
        )


def ensure_plan_task(
    client: PerfTestClient,
    plan_name: str,
    case_ids: Sequence[int],
    *,
    parallel: bool = False,
    enable_full_link: bool | None = None,
) -> int:
    """The id of the PerfTest task named after ``plan_name``, created or updated to hold exactly ``case_ids``.

    Used by the sync engine's per-plan PerfTest option and ``perftest create-task --update``. Read first so a
    rerun never makes a second task. ``enable_full_link`` None: the system's setting.
    """
    wanted = sorted({int(c) for c in case_ids})
    found = [t for t in client.list_tasks() if str(t.get("name", "")) == plan_name]
    if not found:
        return client.create_task(plan_name, wanted, parallel=parallel, enable_full_link=enable_full_link)
    task_id = int(found[0]["id"])
    # the task's full-link flag cannot be read back (the show call does not return it): asked for explicitly,
    # it is written; left to the setting, only a change of cases writes
    if enable_full_link is not None or client.task_cases(task_id) != wanted:
        client.update_task_cases(task_id, plan_name, wanted, parallel=parallel, enable_full_link=enable_full_link)
    return task_id


def check(name: str, settings: PerfTestSettings) -> str:
    """Online check: list the PerfTest project's tasks (a read that needs valid credentials)."""
    with PerfTestClient(name, settings) as client:
        if settings.perftest_project_id is None:
            client.http.get(client._path("v1", "test-suites"), params={"offset": 0, "limit": 1})
            return f"{name} (PerfTest at {settings.url}; set perftest_project_id to manage tasks)"
        tasks = client.list_tasks()
        return f"{name} (PerfTest project {settings.perftest_project_id} at {settings.url}, {len(tasks)} task(s))"
