"""An in-process CodeArts TestPlan (cloudtest) + IAM token service, faithful to what the adapter relies on.

- Auth like the real gateway: ``SDK-HMAC-SHA256`` signatures are verified (401 ``APIG.0301`` on a wrong
  signature or a date more than 15 minutes off), IAM tokens are issued by ``POST /v3/auth/tokens`` on the same
  app (``X-Subject-Token``; lifetime ``token_lifetime`` seconds, 24 h by default) and an expired or revoked
  token is refused with 401 ``CLOUDTEST.00050001``.
- The documented limits, id formats and error codes (vendor document 6.2) on every write; the documented
  status codes (201 on the plan/issue/journal lists and creates, 204 on batch-add), the v1 plan list whose
  ``offset`` is a page number, the v2 list with a 0-based offset.
- Partial batch failures: case ids in ``fail_case_ids`` fail inside batch-add, batch-delete, execution and
  result batches (HTTP 500 with ``error_detail.failed``), the other items are applied.
- Faults from :class:`~adapters.simulation.Faults`; throttling answers 429 ``APIG.0308``.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from adapters.codearts.cloud_sim import Answer, HuaweiCloudAccount
from adapters.codearts.sim_library import NativeLibrary
from adapters.codearts.sim_library_seed import seed_library
from adapters.simulation import ASGIApp, CannedResponse, Faults, Receive, Scope, Send, Simulator

PID = "[0-9a-zA-Z]+"
ID32 = re.compile(r"^[0-9a-zA-Z]{32}$")
ID_11_34 = re.compile(r"^[0-9a-zA-Z]{11,34}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, failed: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.failed = status, code, message, failed

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error_code": self.code, "error_msg": self.message}
        if self.failed is not None:
            out["error_detail"] = {"failed": self.failed}
        return out


def _bad(code: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, code, message)


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _hex() -> str:
    return uuid.uuid4().hex


class CodeArtsSimulator(HuaweiCloudAccount, Simulator):
    system = "codearts"
    token_expired = ("CLOUDTEST.00050001", "Token expired.")

    def __init__(
        self,
        *,
        seed: int | None = None,
        faults: Faults | None = None,
        cases: int | None = None,
        plans: int | None = None,
        library_cases: int | None = None,
        token_lifetime: float = 24 * 3600,
        **_: Any,
    ) -> None:
        super().__init__(seed=seed, faults=faults)
        rng = random.Random(seed if seed is not None else 0)
        self.init_account(rng, iam_user="bridge-user", token_lifetime=token_lifetime)
        self.user_id = f"{rng.getrandbits(128):032x}"
        self.fail_case_ids: set[str] = set()
        self.services: dict[int, dict[str, Any]] = {}
        self.cases: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.executions: dict[str, dict[str, Any]] = {}  # execute_id -> execution
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.environments = [
            {
                "environment_id": _hex(),
                "environment_name": "Default environment",
                "environment_description": "Default environment",
                "is_default": True,
            }
        ]
        self._lock = threading.RLock()
        self._rng = rng
        if seed is not None or cases or plans:
            self._seed(rng, cases if cases is not None else 30, plans if plans is not None else 1)
        # the project's own case library (v4 routes, adapters/codearts/sim_library.py); its own random
        # stream, so the v1 seed above stays what it was for the same seed
        lib_rng = random.Random(f"library-{seed}")
        self.library = NativeLibrary(
            project_id=self.project_id, user_id=self.user_id, user_name=self.iam_user, rng=lib_rng
        )
        if seed is not None or library_cases:
            seed_library(self.library, lib_rng, library_cases if library_cases is not None else 24)

    # ---- contract ------------------------------------------------------------------------------------
    def server_error(self) -> CannedResponse:
        body = {"error_code": "CLOUDTEST.00050000", "error_msg": "System busy due to an internal exception."}
        return 500, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def expire_tokens(self) -> None:
        """Make every issued token expired now (the next call gets 401 CLOUDTEST.00050001)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    # ---- seeding -------------------------------------------------------------------------------------
    def _seed(self, rng: random.Random, n_cases: int, n_plans: int) -> None:
        ours = self._register("tpbridge", "https://bridge.example.com")
        other = self._register("other-tool", "https://other.example.com")
        folders = ["Login", "Login/SSO", "Billing", "Reports"]
        words = ["user", "invoice", "report", "token", "export", "filter", "page", "admin", "email", "cart"]
        ids: list[str] = []
        for i in range(n_cases):
            title = f"Check {rng.choice(words)} {rng.choice(words)} #{i + 1}"
            labels = [f"dir:{rng.choice(folders)}"] + rng.sample(
                ["smoke", "ui", "api", "regression"], rng.randint(0, 2)
            )
            body = {
                "name": title,
                "service_id": ours,
                "rank_id": str(rng.randint(0, 4)),
                "extend_info": {
                    "description": f"Verifies the {rng.choice(words)} flow.",
                    "preparation": "Logged in as admin." if rng.random() < 0.5 else "",
                    "steps": [
                        {"test_step": f"Do step {s + 1}", "expect_result": f"Result {s + 1} shown"}
                        for s in range(rng.randint(1, 4))
                    ],
                    "label_list": labels,
                },
            }
            ids.append(self._create_case(body, case_id=f"{rng.getrandbits(128):032x}")["testcase_id"])
        for i in range(3):
            self._create_case(
                {"name": f"Foreign case {i + 1}", "service_id": other}, case_id=f"{rng.getrandbits(128):032x}"
            )
        for p in range(n_plans):
            plan_id = f"{rng.getrandbits(128):032x}"
            self._create_plan(
                {
                    "name": f"Release {p + 1}.0",
                    "service_id_list": [ours],
                    "plan_cycle": {"start_date": "2024-05-01", "end_date": "2024-05-31"},
                },
                plan_id=plan_id,
            )
            self._add_to_plan(plan_id, ours, ids[: min(10, len(ids))])

    # ---- the app -------------------------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = []

        def route(method: str, pattern: str, handler: Callable[..., Answer]) -> None:
            routes.append((method, re.compile("^" + pattern.replace("{pid}", f"(?P<pid>{PID})") + "/?$"), handler))

        route("GET", "/v1/services", self._h_list_services)
        route("POST", "/v1/services", self._h_create_service)
        route("POST", "/v1/projects/{pid}/testcases", self._h_create_case)
        route("POST", "/v1/projects/{pid}/testcases/batch-delete", self._h_batch_delete)
        route("POST", "/v1/projects/{pid}/testcases/execution", self._h_execution)
        route("POST", "/v1/projects/{pid}/testcases/result", self._h_result)
        route("GET", "/v1/projects/{pid}/testcases/(?P<cid>[^/]+)", self._h_get_case)
        route("PUT", "/v1/projects/{pid}/testcases/(?P<cid>[^/]+)", self._h_update_case)
        route("GET", "/v1/projects/{pid}/testcase", self._h_case_by_number)
        route("POST", "/v1/{pid}/testcases/batch-query", self._h_list_cases)
        route("POST", "/v1/{pid}/testcases/(?P<cid>[^/]+)/histories/batch-query", self._h_histories)
        route("POST", "/v1/projects/{pid}/plans", self._h_create_plan)
        route("GET", "/v1/projects/{pid}/plans", self._h_plans_v1)
        route("GET", "/v2/projects/{pid}/plans", self._h_plans_v2)
        route("POST", "/v1/projects/{pid}/plans/(?P<plan>[^/]+)/testcases/batch-add", self._h_batch_add)
        route("GET", "/v1/projects/{pid}/plans/(?P<plan>[^/]+)/issues", self._h_issues)
        route("GET", "/v1/projects/{pid}/plans/(?P<plan>[^/]+)/journals", self._h_journals)
        route("GET", "/v1/projects/{pid}/environments", self._h_environments)
        route("POST", "/v1/projects/{pid}/repository/testsuites", self._h_testsuite)
        self.library.add_routes(route)

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
            method = scope["method"]
            raw_path = scope.get("raw_path") or scope["path"].encode()
            raw_path_text = raw_path.decode("latin-1").partition("?")[0]
            raw_query = scope.get("query_string", b"").decode("latin-1")
            status, payload, extra = self._dispatch(routes, method, raw_path_text, raw_query, headers, body)
            data = b"" if payload is None else json.dumps(payload).encode()
            out_headers = [(b"content-type", b"application/json")] if payload is not None else []
            out_headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
            out_headers.append((b"content-length", str(len(data)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            await send({"type": "http.response.body", "body": data})

        return app

    def _dispatch(
        self,
        routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]],
        method: str,
        raw_path: str,
        raw_query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Answer:
        from urllib.parse import unquote

        path = unquote(raw_path)
        try:
            if method == "POST" and path.rstrip("/") == "/v3/auth/tokens":
                return self.issue_token(body)
            self._authenticate(method, raw_path, raw_query, headers, body)
            query = dict(parse_qsl(raw_query, keep_blank_values=True))
            for route_method, pattern, handler in routes:
                match = pattern.match(path)
                if match and route_method == method:
                    params = match.groupdict()
                    pid = params.pop("pid", None)
                    if pid is not None and pid != self.project_id:
                        if not ID32.match(pid):
                            raise _bad("CLOUDTEST.00012002", "Invalid project ID.")
                        raise _bad("CLOUDTEST.43040030", "Project not found.")
                    try:
                        payload = json.loads(body) if body else {}
                    except ValueError:
                        raise _bad("CLOUDTEST.43400161", "Invalid request body structure.") from None
                    with self._lock:
                        return handler(payload=payload, query=query, **params)
            return (
                404,
                {"error_code": "APIG.0101", "error_msg": "The API does not exist or has not been published."},
                {},
            )
        except ApiError as exc:
            return exc.status, exc.body(), {}

    # ---- auth ----------------------------------------------------------------------------------------
    def _authenticate(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes) -> None:
        refused = self.refusal(method, raw_path, raw_query, headers, body)
        if refused:
            raise ApiError(*refused)

    # ---- services ------------------------------------------------------------------------------------
    def _register(self, name: str, host: str) -> int:
        service_id = 10 + len(self.services) + (self._rng.randint(0, 30) if self.services else 0)
        while service_id in self.services:
            service_id += 1
        self.services[service_id] = {"id": service_id, "name": name, "server_host": host}
        return service_id

    def _h_list_services(self, payload: Any, query: dict[str, str]) -> Answer:
        return 200, {"services": [{"id": s["id"], "name": s["name"]} for s in self.services.values()]}, {}

    def _h_create_service(self, payload: Any, query: dict[str, str]) -> Answer:
        name, host = str(payload.get("service_name") or ""), str(payload.get("server_host") or "")
        if not name or len(name) > 16:
            raise _bad("CLOUDTEST.00030002", "Invalid service name.")
        if not re.match(r"^https?://", host) or len(host) > 128:
            raise _bad("CLOUDTEST.00030043", "Invalid domain name.")
        if any(s["name"] == name for s in self.services.values()):
            raise _bad("CLOUDTEST.00030028", "Service name already registered.", 500)
        if len(self.services) >= 5:
            raise _bad("CLOUDTEST.00030038", "Invalid input parameters: at most 5 services per tenant.")
        service_id = self._register(name, host)
        return 200, {"service_name": name, "service_id": service_id}, {}

    def _service(self, value: Any) -> int:
        try:
            service_id = int(value)
        except (TypeError, ValueError):
            raise _bad("CLOUDTEST.00017038", "Service type invalid or not found.") from None
        if service_id not in self.services:
            raise _bad("CLOUDTEST.00017038", "Service type invalid or not found.")
        return service_id

    # ---- cases ---------------------------------------------------------------------------------------
    def _validate_case(self, payload: dict[str, Any], *, case_id: str | None) -> dict[str, Any]:
        name = payload.get("name")
        if not isinstance(name, str) or not 3 <= len(name) <= 128:
            raise _bad("CLOUDTEST.00040014", "Invalid test case name length.")
        service_id = self._service(payload.get("service_id"))
        rank = payload.get("rank_id", "2")
        if str(rank) not in {"0", "1", "2", "3", "4"}:
            raise _bad("CLOUDTEST.00017054", "Invalid case level. Must be: 0, 1, 2, 3, or 4.")
        number = payload.get("testcase_number")
        if number is not None:
            if not isinstance(number, str) or not 3 <= len(number) <= 128:
                raise _bad("CLOUDTEST.00030038", "Invalid input parameters: testcase_number must be 3-128 characters.")
            if any(c["testcase_number"] == number and cid != case_id for cid, c in self.cases.items()):
                raise _bad("CLOUDTEST.00017015", "Case ID already in use.")
        extend = payload.get("extend_info") or {}
        for key, code, what in (
            ("description", "CLOUDTEST.00017014", "Case description too long."),
            ("preparation", "CLOUDTEST.00017013", "Test case prerequisite too long."),
        ):
            if len(str(extend.get(key) or "")) > 500:
                raise _bad(code, what)
        steps = extend.get("steps") or []
        if len(steps) >= 10:
            raise _bad("CLOUDTEST.00030038", "Invalid input parameters: fewer than 10 steps allowed.")
        for step in steps:
            if len(str(step.get("test_step") or "")) > 500:
                raise _bad("CLOUDTEST.00017004", "Test step too long.")
            if len(str(step.get("expect_result") or "")) > 500:
                raise _bad("CLOUDTEST.00017005", "Expected result too long.")
        labels = extend.get("label_list") or []
        if len(labels) >= 25:
            raise _bad("CLOUDTEST.00018002", "Too many tags associated with the test case.")
        if any(len(str(label)) > 25 for label in labels):
            raise _bad("CLOUDTEST.00018001", "Tag too long.")
        if len(str(extend.get("issue_id") or "")) > 32:
            raise _bad("CLOUDTEST.00030038", "Invalid input parameters: issue_id.")
        return {
            "name": name,
            "service_id": service_id,
            "rank_id": int(rank),
            "testcase_number": number,
            "extend": extend,
        }

    def _create_case(self, payload: dict[str, Any], *, case_id: str | None = None) -> dict[str, Any]:
        valid = self._validate_case(payload, case_id=None)
        if len(self.cases) >= 50_000:
            raise _bad("CLOUDTEST.00017016", "Max. 50,000 cases in a project.")
        case_id = case_id or _hex()
        now = _now_text()
        extend = valid["extend"]
        issue_id = str(extend.get("issue_id") or "")
        case = {
            "testcase_id": case_id,
            "project_id": self.project_id,
            "service_id": valid["service_id"],
            "name": valid["name"],
            "testcase_number": valid["testcase_number"]
            or f"{self.services[valid['service_id']]['name']}-{len(self.cases) + 1:06d}",
            "rank_id": valid["rank_id"],
            "status_id": "0",
            "execute_count": 0,
            "result_id": None,
            "extend_info": {
                "author": {"id": self.user_id, "name": self.iam_user, "time": now},
                "updator": {"id": self.user_id, "name": self.iam_user, "time": now},
                "description": str(extend.get("description") or ""),
                "preparation": str(extend.get("preparation") or ""),
                "steps": [
                    {"test_step": str(s.get("test_step") or ""), "expect_result": str(s.get("expect_result") or "")}
                    for s in extend.get("steps") or []
                ],
                "label_list": [
                    {"id": str(i + 1), "name": str(label)} for i, label in enumerate(extend.get("label_list") or [])
                ],
                "defect_list": [],
                "module": None,
                "issue": {"id": issue_id, "name": f"Requirement {issue_id}"} if issue_id else None,
                "test_version_id": "",
                "fixed_version": None,
            },
            "_execute": {},  # plan id ("" for the project) -> latest execution
            "_created_ms": int(time.time() * 1000),
        }
        self.cases[case_id] = case
        self.histories[case_id] = [self._history(case_id, "name", "", valid["name"])]
        return case

    def _history(self, case_id: str, field: str, old: str, new: str) -> dict[str, Any]:
        return {
            "id": _hex(),
            "testcase_id": case_id,
            "author": self.user_id,
            "author_name": self.iam_user,
            "region": "sim",
            "project_id": self.project_id,
            "creation_date": _now_text(),
            "create_date_timestamp": int(time.time() * 1000),
            "changes": [{"field_name": field, "old_change_info": {"value": old}, "new_change_info": {"value": new}}],
        }

    @staticmethod
    def _public(case: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in case.items() if not k.startswith("_")}

    def _case_or_404(self, case_id: str) -> dict[str, Any]:
        if not ID_11_34.match(case_id):
            raise _bad("CLOUDTEST.00017000", "Invalid case URI. Use only letters and digits. (11 to 34 characters)")
        case = self.cases.get(case_id)
        if case is None:
            raise _bad("CLOUDTEST.00017001", "Target test case not found.")
        return case

    def _h_create_case(self, payload: Any, query: dict[str, str]) -> Answer:
        return 200, self._public(self._create_case(payload)), {}

    def _h_update_case(self, payload: Any, query: dict[str, str], cid: str) -> Answer:
        case = self._case_or_404(cid)
        valid = self._validate_case(payload, case_id=cid)
        if valid["service_id"] != case["service_id"]:
            raise _bad("CLOUDTEST.00013026", "Not authorized to update test cases of this type.")
        old_name = case["name"]
        extend = valid["extend"]
        issue_id = str(extend.get("issue_id") or "")
        info = case["extend_info"]
        info.update(
            {
                "updator": {"id": self.user_id, "name": self.iam_user, "time": _now_text()},
                "description": str(extend.get("description") or ""),
                "preparation": str(extend.get("preparation") or ""),
                "steps": [
                    {"test_step": str(s.get("test_step") or ""), "expect_result": str(s.get("expect_result") or "")}
                    for s in extend.get("steps") or []
                ],
                "label_list": [
                    {"id": str(i + 1), "name": str(label)} for i, label in enumerate(extend.get("label_list") or [])
                ],
                "issue": {"id": issue_id, "name": f"Requirement {issue_id}"} if issue_id else None,
            }
        )
        case["name"] = valid["name"]
        case["rank_id"] = valid["rank_id"]
        # assumption: like on create, an update without a number gets a generated one (the SDK model says
        # "generated when not filled" for both); the adapter always sends the number it keeps
        case["testcase_number"] = (
            valid["testcase_number"] or f"{self.services[case['service_id']]['name']}-{_hex()[:6]}"
        )
        if "status_id" in extend:
            case["status_id"] = str(extend["status_id"])
        if old_name != case["name"]:
            self.histories.setdefault(cid, []).append(self._history(cid, "name", old_name, case["name"]))
        return 200, self._public(case), {}

    def _h_get_case(self, payload: Any, query: dict[str, str], cid: str) -> Answer:
        return 200, self._public(self._case_or_404(cid)), {}

    def _h_case_by_number(self, payload: Any, query: dict[str, str]) -> Answer:
        number = query.get("testcase_number", "")
        case = next((c for c in self.cases.values() if c["testcase_number"] == number), None)
        if case is None:
            raise _bad("CLOUDTEST.00017001", "Target test case not found.")
        return 200, self._public(case), {}

    def _check_batch_ids(self, ids: Any, limit: int = 49) -> list[str]:
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= limit
            or not all(isinstance(i, str) and ID32.match(i) for i in ids)
        ):
            raise _bad("CLOUDTEST.00030001", "Invalid case IDs for batch operation.")
        return ids

    def _h_batch_delete(self, payload: Any, query: dict[str, str]) -> Answer:
        service_id = self._service(payload.get("service_id"))
        ids = self._check_batch_ids(payload.get("testcase_id_list"))
        failed = []
        for cid in ids:
            case = self.cases.get(cid)
            if cid in self.fail_case_ids or case is None or case["service_id"] != service_id:
                failed.append(
                    {"error_code": "CLOUDTEST.00017001", "error_msg": "Target test case not found.", "testcase_id": cid}
                )
                continue
            del self.cases[cid]
            for plan in self.plans.values():
                plan["case_ids"].discard(cid)
        if failed:
            raise ApiError(500, "CLOUDTEST.00017036", "Delete case failed.", failed)
        return 200, {}, {}

    def _list_item(self, case: dict[str, Any], plan_id: str) -> dict[str, Any]:
        execution = case["_execute"].get(plan_id)
        service = self.services[case["service_id"]]
        item: dict[str, Any] = {
            "id": case["testcase_id"],
            "name": case["name"],
            "number": case["testcase_number"],
            "description": case["extend_info"]["description"],
            "rank_id": str(case["rank_id"]),
            "project_id": self.project_id,
            "status": {"id": case["status_id"], "name": "New"},
            "test_type": {"id": service["id"], "name": service["name"]},
            "execution_type": {"id": "1", "name": "Manual"},
            "create_info": {
                "time": case["extend_info"]["author"]["time"],
                "timestamp": case["_created_ms"],
                "user_id": self.user_id,
                "user_name": self.iam_user,
            },
        }
        if execution and execution.get("result_id") is not None:
            item["result"] = {"id": execution["result_id"], "name": execution["result_id"]}
            item["execute_info"] = {
                "time": datetime.fromtimestamp(execution["end_time"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "timestamp": execution["end_time"],
                "duration": str(execution.get("duration", 0)),
                "user_id": self.user_id,
                "user_name": self.iam_user,
                "execute_times": execution["times"],
            }
        return item

    def _h_list_cases(self, payload: Any, query: dict[str, str]) -> Answer:
        offset, limit = payload.get("offset"), payload.get("limit")
        if not isinstance(offset, int) or not 0 <= offset <= 100_000:
            raise _bad("CLOUDTEST.00060012", "Invalid start offset or number of entries displayed on each page.")
        if not isinstance(limit, int) or not 1 <= limit <= 200:
            raise _bad("CLOUDTEST.00060012", "Invalid start offset or number of entries displayed on each page.")
        version = payload.get("version_id")
        if version:
            plan = self._plan_or_error(str(version))
            ids = [cid for cid in self.cases if cid in plan["case_ids"]]
        else:
            ids = list(self.cases)
        values = [self._list_item(self.cases[cid], str(version or "")) for cid in ids[offset : offset + limit]]
        return 200, {"total": len(ids), "values": values}, {}

    def _h_histories(self, payload: Any, query: dict[str, str], cid: str) -> Answer:
        self._case_or_404(cid)
        offset, limit = int(payload.get("offset", 0)), int(payload.get("limit", 200))
        if not ID_11_34.match(str(payload.get("version_id") or "")):
            raise _bad("CLOUDTEST.00012005", "Invalid version URI. Use only letters and digits. (11 to 34 characters)")
        items = self.histories.get(cid, [])
        return 200, {"total": len(items) if offset < len(items) else 0, "values": items[offset : offset + limit]}, {}

    # ---- executions ----------------------------------------------------------------------------------
    def _execute_items(self, payload: dict[str, Any], *, kind: str) -> list[dict[str, Any]]:
        self._service(payload.get("service_id"))
        items = payload.get("execute_list")
        too_many = (
            ("CLOUDTEST.00017055", "Too many cases for batch execution.")
            if kind == "execution"
            else ("CLOUDTEST.00017056", "Too many cases for batch update.")
        )
        if not isinstance(items, list) or not items:
            raise _bad("CLOUDTEST.00030038", "Invalid input parameters.")
        if len(items) > 50:
            raise _bad(*too_many)
        seen: set[str] = set()
        for item in items:
            cid = str(item.get("testcase_id") or "")
            if not ID32.match(cid) or cid in seen:
                raise _bad("CLOUDTEST.00030001", "Invalid case IDs for batch operation.")
            seen.add(cid)
            execute_id = item.get("execute_id")
            if not isinstance(execute_id, str) or not 1 <= len(execute_id) <= 32:
                raise _bad("CLOUDTEST.00017009", "Invalid test case execution ID.")
            if str(item.get("result_id")) not in {"0", "1", "5", "6"}:
                raise _bad("CLOUDTEST.00017058", "Invalid test case result.")
            stamp = item.get("start_time" if kind == "execution" else "end_time")
            if not isinstance(stamp, int) or not 10**12 <= stamp < 10**15:
                code = "CLOUDTEST.00017065" if kind == "execution" else "CLOUDTEST.00017062"
                raise _bad(code, "Invalid time. Must be a positive integer of 13 to 15 digits.")
            if kind == "result":
                if not isinstance(item.get("duration", 0), int) or item.get("duration", 0) < 0:
                    raise _bad("CLOUDTEST.00017061", "Invalid case execution duration.")
                if len(str(item.get("description") or "")) > 2000:
                    raise _bad("CLOUDTEST.00017063", "Invalid description. Max. 2,000 characters.")
        plan_id = payload.get("plan_id")
        if plan_id:
            self._plan_or_error(str(plan_id))
        return items

    def _h_execution(self, payload: Any, query: dict[str, str]) -> Answer:
        return self._apply_executions(payload, "execution")

    def _h_result(self, payload: Any, query: dict[str, str]) -> Answer:
        return self._apply_executions(payload, "result")

    def _apply_executions(self, payload: dict[str, Any], kind: str) -> Answer:
        items = self._execute_items(payload, kind=kind)
        plan_id = str(payload.get("plan_id") or "")
        plan = self.plans.get(plan_id) if plan_id else None
        failed: list[dict[str, str]] = []
        done_code = "CLOUDTEST.00017026" if kind == "execution" else "CLOUDTEST.00017027"
        for item in items:
            cid, execute_id = item["testcase_id"], item["execute_id"]
            case = self.cases.get(cid)
            fail: tuple[str, str] | None = None
            known = self.executions.get(execute_id)
            if cid in self.fail_case_ids:
                fail = ("CLOUDTEST.00017022", "Execute case failed.")
            elif case is None or (plan is not None and cid not in plan["case_ids"]):
                fail = ("CLOUDTEST.00017057", "Case not found in the project or plan.")
            elif kind == "execution" and known is not None:
                fail = (done_code, "The case was executed already with this execution id.")
            elif kind == "result" and known is None:
                fail = ("CLOUDTEST.00017057", "No execution with this execution id.")
            elif kind == "result" and known is not None and known.get("result_done"):
                fail = (done_code, "The case already has the required result.")
            if fail:
                failed.append({"error_code": fail[0], "error_msg": fail[1], "testcase_id": cid})
                continue
            assert case is not None
            if kind == "execution":
                self.executions[execute_id] = {"testcase_id": cid, "plan_id": plan_id, "start_time": item["start_time"]}
            else:
                assert known is not None
                known["result_done"] = True
                case["execute_count"] += 1
                case["result_id"] = str(item["result_id"])
                for key in {plan_id, ""}:
                    previous = case["_execute"].get(key, {})
                    case["_execute"][key] = {
                        "result_id": str(item["result_id"]),
                        "end_time": item["end_time"],
                        "duration": item.get("duration", 0),
                        "times": previous.get("times", 0) + 1,
                        "description": item.get("description", ""),
                    }
        if failed:
            if len(failed) == len(items) and all(f["error_code"] == done_code for f in failed):
                code = "CLOUDTEST.00017024" if kind == "execution" else "CLOUDTEST.00017025"
                raise ApiError(500, code, "All cases that the request involves were handled already.", failed)
            code = "CLOUDTEST.00017020" if kind == "execution" else "CLOUDTEST.00017021"
            raise ApiError(500, code, "Some cases failed in the batch.", failed)
        return 200, {}, {}

    # ---- plans ---------------------------------------------------------------------------------------
    def _plan_or_error(self, plan_id: str) -> dict[str, Any]:
        if not ID_11_34.match(plan_id):
            raise _bad(
                "CLOUDTEST.00012006", "Invalid test plan URI. Use only letters and digits. (11 to 34 characters)"
            )
        plan = self.plans.get(plan_id)
        if plan is None:
            raise _bad("CLOUDTEST.00017003", "Invalid test plan ID.")
        return plan

    def _create_plan(self, payload: dict[str, Any], *, plan_id: str | None = None) -> str:
        name = payload.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 128:
            raise _bad("CLOUDTEST.00070010", "Invalid test plan name length.")
        services = payload.get("service_id_list")
        if not isinstance(services, list) or not 1 <= len(services) < 10:
            raise _bad("CLOUDTEST.00017012", "Invalid service types.")
        for sid in services:
            self._service(sid)
        cycle = payload.get("plan_cycle")
        if not isinstance(cycle, dict):
            raise _bad("CLOUDTEST.00030038", "Invalid input parameters: plan_cycle is required.")
        start, end = cycle.get("start_date"), cycle.get("end_date")
        if start is not None and not DATE.match(str(start)):
            raise _bad("CLOUDTEST.00060010", "Invalid format of planned start time.")
        if end is not None and not DATE.match(str(end)):
            raise _bad("CLOUDTEST.00060011", "Invalid format of planned end time.")
        if start and end and start > end:
            raise _bad("CLOUDTEST.00040003", "Start time later than end time.", 500)
        if any(p["name"] == name for p in self.plans.values()):
            raise _bad("CLOUDTEST.00070009", "Test plan name already in use.", 500)
        plan_id = plan_id or _hex()
        self.plans[plan_id] = {
            "plan_id": plan_id,
            "name": name,
            "start_date": start,
            "end_date": end,
            "services": [int(s) for s in services],
            "case_ids": set(),
            "journals": [],
            "created": time.time(),
        }
        self._journal(plan_id, "attribute", updated=[{"attribute_type": "name", "old_value": "", "new_value": name}])
        return plan_id

    def _journal(
        self,
        plan_id: str,
        kind: str,
        *,
        added: list[dict[str, str]] | None = None,
        updated: list[dict[str, str]] | None = None,
    ) -> None:
        self.plans[plan_id]["journals"].append(
            {
                "detail": [
                    {
                        "added": added or [],
                        "deleted": [],
                        "journalized_type": "testCase" if added else "plan",
                        "type": kind,
                        "updated": updated or [],
                    }
                ],
                "operate_time": _now_text(),
                "operator": {"id": self.user_id, "name": self.iam_user},
                "plan_id": plan_id,
                "project_id": self.project_id,
            }
        )

    def _plan_detail(self, plan: dict[str, Any]) -> dict[str, Any]:
        executed = sum(1 for cid in plan["case_ids"] if self.cases[cid]["_execute"].get(plan["plan_id"]))
        owner = {"id": self.user_id, "name": self.iam_user, "user_name": self.iam_user}
        return {
            "creator": {"id": self.user_id, "user_name": self.iam_user},
            "current_stage": "design",
            "design_stage": {"case_count": len(plan["case_ids"]), "issue_count": 0, "issue_covered_count": "0"},
            "end_date": plan["end_date"],
            "start_date": plan["start_date"],
            "execute_stage": {
                "case_pass_rate": "0.00%",
                "completed_defect_count": 0,
                "defect_count": 0,
                "executed_case_count": executed,
            },
            "expire_day": -1,
            "finish_date": None,
            "iteration": {"id": "", "name": ""},
            "name": plan["name"],
            "owner": owner,
            "plan_id": plan["plan_id"],
            "project_id": self.project_id,
            "report_stage": {"case_complete_rate": "0.00%"},
        }

    def _h_create_plan(self, payload: Any, query: dict[str, str]) -> Answer:
        return 201, {"plan_id": self._create_plan(payload)}, {}

    def _filtered_plans(self, query: dict[str, str]) -> list[dict[str, Any]]:
        name = query.get("name") or ""
        stage = query.get("current_stage") or ""
        plans = sorted(self.plans.values(), key=lambda p: p["created"])
        return [self._plan_detail(p) for p in plans if name in p["name"] and stage in ("", "design")]

    def _paging(self, query: dict[str, str], *, low: int, high: int) -> tuple[int, int]:
        try:
            offset, limit = int(query["offset"]), int(query["limit"])
        except (KeyError, ValueError):
            raise _bad(
                "CLOUDTEST.00060012", "Invalid start offset or number of entries displayed on each page."
            ) from None
        if not low <= offset <= high:
            raise _bad("CLOUDTEST.43400337", "Invalid start offset of pagination.")
        if not 1 <= limit <= 200:
            raise _bad("CLOUDTEST.43400338", "Invalid number of records displayed on each page.")
        return offset, limit

    def _h_plans_v1(self, payload: Any, query: dict[str, str]) -> Answer:
        page, limit = self._paging(query, low=1, high=20_000)  # v1: offset is a page number
        start = (page - 1) * limit
        return 201, self._filtered_plans(query)[start : start + limit], {}

    def _h_plans_v2(self, payload: Any, query: dict[str, str]) -> Answer:
        offset, limit = self._paging(query, low=0, high=2_000_000)
        return 201, self._filtered_plans(query)[offset : offset + limit], {}

    def _add_to_plan(self, plan_id: str, service_id: int, ids: list[str]) -> list[dict[str, str]]:
        plan = self.plans[plan_id]
        failed, added = [], []
        for cid in ids:
            case = self.cases.get(cid)
            if cid in self.fail_case_ids:
                failed.append(
                    {
                        "error_code": "CLOUDTEST.00013001",
                        "error_msg": "Not authorized to operate the test type.",
                        "testcase_id": cid,
                    }
                )
            elif case is None or case["service_id"] != service_id:
                failed.append(
                    {"error_code": "CLOUDTEST.00017001", "error_msg": "Target test case not found.", "testcase_id": cid}
                )
            elif cid not in plan["case_ids"]:
                plan["case_ids"].add(cid)
                added.append({"id": cid, "name": case["name"]})
        if added:
            self._journal(plan_id, "resource", added=added)
        return failed

    def _h_batch_add(self, payload: Any, query: dict[str, str], plan: str) -> Answer:
        self._plan_or_error(plan)
        service_id = self._service(payload.get("service_id"))
        ids = self._check_batch_ids(payload.get("testcase_id_list"))
        failed = self._add_to_plan(plan, service_id, ids)
        if failed:
            if len(failed) == len(ids):
                raise ApiError(500, failed[0]["error_code"], "Adding the cases failed.", failed)
            raise ApiError(500, "CLOUDTEST.00000001", "Some cases could not be added to the plan.", failed)
        return 204, None, {}

    def _h_issues(self, payload: Any, query: dict[str, str], plan: str) -> Answer:
        self._plan_or_error(plan)
        offset, limit = self._paging(query, low=0, high=999)
        issue_ids = sorted(
            {
                c["extend_info"]["issue"]["id"]
                for cid, c in self.cases.items()
                if cid in self.plans[plan]["case_ids"] and c["extend_info"]["issue"]
            }
        )
        items = [
            {
                "workitem_id": i,
                "name": f"Requirement {i}",
                "plan_id": plan,
                "project_id": self.project_id,
                "region_id": "sim",
                "parent_issue": "",
                "start_date": None,
                "end_date": None,
                "status": {"id": "1", "name": "New"},
                "tracker": {"id": "7", "name": "Story"},
                "owner": {"id": self.user_id, "name": self.iam_user},
                "severity": None,
                "module": None,
                "iteration": None,
            }
            for i in issue_ids
        ]
        return 201, items[offset : offset + limit], {}

    def _h_journals(self, payload: Any, query: dict[str, str], plan: str) -> Answer:
        # an iteration of the native library is a test plan of this list too (see sim_library.journal)
        iteration = self.library.iterators.get(plan)
        journals = iteration["journals"] if iteration is not None else self._plan_or_error(plan)["journals"]
        offset, limit = self._paging(query, low=0, high=999)
        return 201, journals[offset : offset + limit], {}

    def _h_environments(self, payload: Any, query: dict[str, str]) -> Answer:
        offset, limit = self._paging(query, low=0, high=999)
        envs = self.environments
        return (
            200,
            {"environments": envs[offset : offset + limit], "offset": offset, "limit": limit, "total_count": len(envs)},
            {},
        )

    def _h_testsuite(self, payload: Any, query: dict[str, str]) -> Answer:
        name = str(payload.get("testsuite_name") or "")
        if not 3 <= len(name) <= 128:
            raise _bad("CLOUDTEST.43400248", "Invalid test suite name length.")
        if not ID32.match(str(payload.get("repository_id") or "")):
            raise _bad("CLOUDTEST.43400334", "Invalid repository ID.")
        if not 3 <= len(str(payload.get("repository_branch") or "")) <= 100:
            raise _bad("CLOUDTEST.43400336", "Invalid length of repository branch name.")
        path = str(payload.get("file_path") or "")
        if not 6 <= len(path) <= 128:
            raise _bad("CLOUDTEST.43400335", "Invalid file path length.")
        if not path.endswith((".yaml", ".yml", ".json")):
            raise _bad("CLOUDTEST.43400102", "Incorrect file type.")
        return 201, {"testsuite_id": _hex(), "testcase_ids": [_hex() for _ in range(3)]}, {}
