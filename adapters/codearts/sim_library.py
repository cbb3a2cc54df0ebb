"""The simulated native test-case library of CodeArts TestPlan (the v4 "GT3KServer" API), served by
:class:`adapters.codearts.simulator.CodeArtsSimulator` beside its v1/v2 routes.

What it serves is what Huawei's official SDK (``huaweicloudsdkcloudtest`` v1 client, its v4 operations)
sends and parses: the same paths, the request models' field names, and the ``{status, result, error}``
envelope with ``page_no``/``page_size`` paging (``{total, value, page_no, page_size, has_more}``).

Decisions the SDK leaves open, and how this simulator answers them (the adapter relies on no more):

- **Versions.** A project has a master branch (``is_master`` 1) and may have more branches; iterations
  (v4 test plans) are versions too. Cases live in a branch; an iteration holds references to branch cases
  and lists them under the same case uri.
- **Directory tree.** ``show_feature_children`` with the *branch uri* as ``feature_id`` answers the
  top-level directories of that branch; with a directory uri, its children. Directory names are unique
  among siblings (``ignore_duplicate_name`` lets a second one be made) and at most 128 characters.
- **Changes.** Every write of a case moves its ``last_modified`` (epoch milliseconds, strictly increasing
  within the project so a reader's mark never hides a change made in the same millisecond).
- **Plan journals.** An iteration is a test plan of the v1 plan API too, so ``GET /v1/projects/{pid}/plans/
  {iid}/journals`` answers its operation history (vendor document 4.3.5): an entry for each create, each
  changed attribute set, each batch of cases added or removed, oldest first, ``operate_time`` to the second.
  A case deleted from the library leaves its iterations without an entry (the worst case for a reader).
- **Limits** (the v4 API documents none; these follow the web form): case name 3-255 characters,
  preparation/remark/step texts at most 5,000, at most 50 steps, ``page_size`` 1-200, at most 100 ids per
  batch delete, at most 500 cases per synchronous batch-add (``is_async`` beyond), 25 custom fields.
- **Errors** answer HTTP 400/404 with ``{"status": "error", "error": {"code", "reason"}}``; a route that is
  not served falls through to the gateway's ``APIG.0101`` like on the real service.

State is plain dicts (tests read them directly); seeding lives in :mod:`adapters.codearts.sim_library_seed`.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

#: (status, JSON body, extra headers), as the simulator's dispatcher expects
Answer = tuple[int, Any, dict[str, str]]
Route = Callable[[str, str, Callable[..., Answer]], None]

NAME_MIN, NAME_MAX = 3, 255
TEXT_MAX = 5000
STEPS_MAX = 50
FEATURE_NAME_MAX = 128
PAGE_SIZE_MAX = 200
DELETE_MAX = 100
ADD_SYNC_MAX = 500
#: iteration attributes whose changes the journal records (the vendor document lists name, dates, description)
JOURNALED = ("name", "plan_start_date", "plan_end_date", "description", "number", "current_stage")
CUSTOM_FIELDS_MAX = 25
SEG = "(?P<{}>[^/]+)"

#: the test types every project starts with (the product's defaults; ``list_test_types``)
TEST_TYPES = {
    1: "Functional",
    2: "Performance",
    3: "Security",
    4: "Compatibility",
    5: "Usability",
    6: "Regression",
    7: "Smoke",
    8: "Acceptance",
    9: "API",
}

#: result codes of add_case_result_four: the same codes as the v1 result API (0 success, 1 failed, 5 executing,
#: 6 stopped), so one value map serves both
RESULT_NAMES = {"0": "Passed", "1": "Failed", "5": "Executing", "6": "Stopped"}


class V4Error(Exception):
    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ok(value: Any, **page: Any) -> Answer:
    return 200, {"status": "success", "result": {"value": value, **page}, "request_id": uuid.uuid4().hex}, {}


def paged(items: list[Any], page_no: Any, page_size: Any) -> Answer:
    try:
        no, size = int(page_no or 1), int(page_size or 10)
    except (TypeError, ValueError):
        raise V4Error(400, "CLOUDTEST.43400338", "page_no and page_size must be numbers.") from None
    if no < 1:
        raise V4Error(400, "CLOUDTEST.43400337", "page_no starts at 1.")
    if not 1 <= size <= PAGE_SIZE_MAX:
        raise V4Error(400, "CLOUDTEST.43400338", f"page_size must be 1 to {PAGE_SIZE_MAX}.")
    start = (no - 1) * size
    chunk = items[start : start + size]
    total = len(items) if start < len(items) or not items else 0
    return ok(chunk, total=total, page_no=no, page_size=size, has_more=start + size < len(items))


class NativeLibrary:
    """The v4 state of one project plus its route handlers."""

    def __init__(self, *, project_id: str, user_id: str, user_name: str, rng: random.Random | None = None) -> None:
        self.project_id, self.user_id, self.user_name = project_id, user_id, user_name
        self._rng = rng or random.Random(0)  # uris drawn from it: the same seed gives the same project
        self.branches: dict[str, dict[str, Any]] = {}
        self.features: dict[str, dict[str, Any]] = {}
        self.cases: dict[str, dict[str, Any]] = {}
        self.iterators: dict[str, dict[str, Any]] = {}
        self.results: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (version, case) -> results, newest last
        self.test_types: dict[int, str] = dict(TEST_TYPES)
        self.custom_fields: list[dict[str, Any]] = []  # {custom_field_id, name, type, options}
        #: case-list pages served per branch or iteration uri (tests count a plan's case-list reads by it)
        self.list_reads: Counter[str] = Counter()
        self._clock = 0
        self._tick_lock = threading.Lock()
        self.master_uri = self.add_branch("master", master=True)

    # ---- state helpers (seeding and handlers) --------------------------------------------------------
    def tick(self) -> int:
        """A change time: epoch ms, strictly increasing."""
        with self._tick_lock:
            self._clock = max(self._clock + 1, int(time.time() * 1000))
            return self._clock

    def new_uri(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def add_branch(self, name: str, *, master: bool = False) -> str:
        uri = self.new_uri()
        self.branches[uri] = {"uri": uri, "name": name, "is_master": 1 if master else 0, "created": self.tick()}
        return uri

    def add_feature(self, name: str, parent_uri: str, version_uri: str, *, ignore_duplicate: bool = False) -> str:
        name = name.strip()
        if not name or len(name) > FEATURE_NAME_MAX:
            raise V4Error(400, "CLOUDTEST.00015003", f"The directory name must be 1 to {FEATURE_NAME_MAX} characters.")
        if version_uri not in self.branches:
            raise V4Error(404, "CLOUDTEST.00016001", "The branch does not exist.")
        if parent_uri != version_uri and parent_uri not in self.features:
            raise V4Error(404, "CLOUDTEST.00015002", "The parent directory does not exist.")
        if not ignore_duplicate and any(
            f["name"] == name and f["parent_uri"] == parent_uri for f in self.features.values()
        ):
            raise V4Error(400, "CLOUDTEST.00015004", "A directory of this name exists here already.")
        uri = self.new_uri()
        now = self.tick()
        self.features[uri] = {
            "uri": uri,
            "name": name,
            "parent_uri": parent_uri,
            "version_uri": version_uri,
            "is_feature": "2",
            "created": now,
        }
        return uri

    def feature_path(self, uri: str | None) -> list[str]:
        names: list[str] = []
        while uri and uri in self.features:
            names.append(self.features[uri]["name"])
            uri = self.features[uri]["parent_uri"]
        return names[::-1]

    def put_case(self, info: dict[str, Any], version_uri: str, *, uri: str | None = None) -> dict[str, Any]:
        """Create (``uri`` None) or replace a case from a TestCaseInfo body; returns the stored case."""
        self._check_case(info, version_uri)
        old = self.cases.get(uri) if uri else None
        now = self.tick()
        case: dict[str, Any] = (
            dict(old) if old else {"uri": uri or self.new_uri(), "created": now, "author": self.user_id}
        )
        case["version_uri"] = version_uri
        fields = ("name", "preparation", "remark", "tags", "owner", "dr_relation_id", "compare_number", "number")
        for key in fields:
            if key in info or not old:
                case[key] = str(info.get(key) or "")
        # a case written without a level gets the form's default (2); without a test type it has none
        for key, default in (("rank", 2), ("test_type", None)):
            if key in info or not old:
                case[key] = int(info[key]) if info.get(key) is not None else default
        if "feature_uri" in info or not old:
            case["feature_uri"] = str(info.get("feature_uri") or "")
        if "steps" in info or not old:
            case["steps"] = [
                {"test_step": str(s.get("test_step") or ""), "expect_result": str(s.get("expect_result") or "")}
                for s in info.get("steps") or []
            ]
        for n in range(1, CUSTOM_FIELDS_MAX + 1):
            key = f"custom_field_{n}"
            if key in info or not old:
                case[key] = str(info.get(key) or "")
        if not case.get("number"):
            case["number"] = f"TC{len(self.cases) + 1:06d}"
        case["last_modified"] = now
        case["last_modifier"] = self.user_id
        self.cases[case["uri"]] = case
        return case

    def _check_case(self, info: dict[str, Any], version_uri: str) -> None:
        name = info.get("name")
        if not isinstance(name, str) or not NAME_MIN <= len(name.strip()) <= NAME_MAX:
            raise V4Error(400, "CLOUDTEST.00040014", f"The case name must be {NAME_MIN} to {NAME_MAX} characters.")
        if version_uri not in self.branches:
            raise V4Error(404, "CLOUDTEST.00016001", "The branch does not exist (cases are written in a branch).")
        for key in ("preparation", "remark"):
            if len(str(info.get(key) or "")) > TEXT_MAX:
                raise V4Error(400, "CLOUDTEST.00017013", f"{key} is longer than {TEXT_MAX} characters.")
        steps = info.get("steps") or []
        if len(steps) > STEPS_MAX:
            raise V4Error(400, "CLOUDTEST.00030038", f"At most {STEPS_MAX} steps.")
        for step in steps:
            if any(len(str(step.get(k) or "")) > TEXT_MAX for k in ("test_step", "expect_result")):
                raise V4Error(400, "CLOUDTEST.00017004", f"A step text is longer than {TEXT_MAX} characters.")
        rank = info.get("rank")
        if rank is not None and int(rank) not in range(0, 5):
            raise V4Error(400, "CLOUDTEST.00017054", "The case level (rank) must be 0 to 4.")
        feature = info.get("feature_uri")
        if feature and (feature not in self.features or self.features[feature]["version_uri"] != version_uri):
            raise V4Error(404, "CLOUDTEST.00015002", "The directory does not exist in this branch.")
        test_type = info.get("test_type")
        if test_type is not None and int(test_type) not in self.test_types:
            raise V4Error(400, "CLOUDTEST.00017038", "Unknown test type.")

    # ---- views (SDK response models) -----------------------------------------------------------------
    def _custom_info(self, case: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for field in self.custom_fields:
            key = f"custom_field_{field['custom_field_id']}"
            out.append({"type": field["type"], "value": case.get(key, ""), "custom_field_param": key})
        return out

    def _result_of(self, case_uri: str, version_uri: str) -> dict[str, Any] | None:
        results = self.results.get((version_uri, case_uri))
        return results[-1] if results else None

    def list_item(self, case: dict[str, Any], version_uri: str) -> dict[str, Any]:
        """TestCaseListVo (no steps, no preparation)."""
        last = self._result_of(case["uri"], version_uri)
        test_type = case["test_type"]
        return {
            "uri": case["uri"],
            "name": case["name"],
            "number": case["number"],
            "rank_id": str(case["rank"]),
            "feature_uri": case["feature_uri"],
            "project_uuid": self.project_id,
            "owner": {"id": case["owner"], "name": case["owner"]},
            "test_type": {"id": test_type, "name": self.test_types.get(test_type, "")} if test_type else None,
            "labels": [{"label_name": t} for t in case["tags"].split(",") if t],
            "custom_field_info": self._custom_info(case),
            "associate_issue_info": {"associate": bool(case["dr_relation_id"]), "issue_id": case["dr_relation_id"]},
            "create_info": {"timestamp": case["created"], "time": _iso(case["created"]), "user_id": case["author"]},
            "result": {"id": str(last["result"]), "name": last["result_name"]} if last else None,
            "execute_info": {
                "timestamp": last["end_time_timestamp"],
                "time": _iso(last["end_time_timestamp"]),
                "execute_times": last["round"],
                "user_id": self.user_id,
                "user_name": self.user_name,
                "duration": str(last["duration"]),
            }
            if last
            else None,
            "last_modified": case["last_modified"],
        }

    def detail(self, case: dict[str, Any]) -> dict[str, Any]:
        """TestCaseDetailVo (also the TestCaseVo of create/update answers, which the SDK parses the same)."""
        feature = self.features.get(case["feature_uri"])
        out = {k: v for k, v in case.items() if k not in ("created", "steps", "last_modified")}
        out.update(
            {
                "type": "TestCase",
                "project_uuid": self.project_id,
                "steps": case["steps"],
                "last_modified": _iso(case["last_modified"]),
                "last_modified_timestamp": case["last_modified"],
                "creation_date": _iso(case["created"]),
                "creation_date_timestamp": case["created"],
                "feature_name": feature["name"] if feature else "",
                "feature_path": "/".join(self.feature_path(case["feature_uri"])),
                "test_type_name": self.test_types.get(case["test_type"], ""),
                "owner_name": case["owner"],
                "issue": {"id": case["dr_relation_id"]} if case["dr_relation_id"] else None,
            }
        )
        return out

    def feature_view(self, f: dict[str, Any]) -> dict[str, Any]:
        return {
            "uri": f["uri"],
            "name": f["name"],
            "parent_uri": f["parent_uri"],
            "version_uri": f["version_uri"],
            "is_feature": f["is_feature"],
            "type": "Feature",
            "project_uuid": self.project_id,
            "creation_date": _iso(f["created"]),
            "has_child": any(c["parent_uri"] == f["uri"] for c in self.features.values()),
            "case_total": sum(1 for c in self.cases.values() if c["feature_uri"] == f["uri"]),
        }

    def iterator_view(self, it: dict[str, Any]) -> dict[str, Any]:
        executed = sum(1 for c in it["case_uris"] if (it["uri"], c) in self.results)
        return {
            "uri": it["uri"],
            "name": it["name"],
            "number": it["number"],
            "description": it["description"],
            "is_iterator": 1,
            "is_master": 0,
            "parent_uri": it["branch_uri"],
            "plan_start_date": it["plan_start_date"],
            "plan_end_date": it["plan_end_date"],
            "current_stage": it["current_stage"],
            "project_uuid": self.project_id,
            "last_modified": _iso(it["last_modified"]),
            "last_modified_timestamp": it["last_modified"],
            "stages": ["design", "execute", "report"],
            "design": {"case_num": len(it["case_uris"]), "issue_num": 0, "issue_cover_num": 0},
            "execute": {"execute_case_num": executed, "defect_num": 0, "completed_defect_num": 0},
        }

    # ---- routes --------------------------------------------------------------------------------------
    def journal(
        self,
        iid: str,
        kind: str,
        *,
        added: list[dict[str, str]] | None = None,
        deleted: list[dict[str, str]] | None = None,
        updated: list[dict[str, str]] | None = None,
    ) -> None:
        """One entry of the iteration's operation history, in the shape of the v1 plan journal (vendor
        document 4.3.5): the plan journal route serves iterations too, the way the v1 plan list shows them."""
        self.iterators[iid]["journals"].append(
            {
                "detail": [
                    {
                        "added": added or [],
                        "deleted": deleted or [],
                        "journalized_type": "testCase" if added or deleted else "plan",
                        "type": kind,
                        "updated": updated or [],
                    }
                ],
                "operate_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "operator": {"id": self.user_id, "name": self.user_name},
                "plan_id": iid,
                "project_id": self.project_id,
            }
        )

    def add_routes(self, route: Route) -> None:
        p = "/GT3KServer/v4"
        table: list[tuple[str, str, Callable[..., Answer]]] = [
            ("GET", f"{p}/branches", self.h_branches),
            ("GET", "/v4/branches", self.h_branches),
            ("POST", "/v4/features", self.h_add_feature),
            ("POST", f"{p}/features/{SEG.format('fid')}/children", self.h_feature_children),
            ("POST", "/GT3KServer/v5/features/" + SEG.format("fid") + "/children", self.h_feature_children),
            ("POST", f"{p}/{{pid}}/testcases/batch-query", self.h_list_cases),
            ("DELETE", f"{p}/testcases/batch-delete", self.h_delete_cases),
            ("GET", f"{p}/testcases/{SEG.format('cid')}", self.h_show_case),
            ("PUT", f"{p}/testcases/{SEG.format('cid')}", self.h_update_case),
            ("POST", f"{p}/versions/{SEG.format('vid')}/testcases", self.h_create_case),
            ("GET", f"{p}/{{pid}}/testcase/field/batch-query", self.h_custom_fields),
            ("GET", f"{p}/{{pid}}/test-types", self.h_test_types),
            ("POST", "/v4/iterators", self.h_create_iterator),
            ("POST", "/v4/iterators/info/batch-query", self.h_list_iterators),
            ("GET", "/v4/iterators/" + SEG.format("iid"), self.h_show_iterator),
            ("PUT", "/v4/iterators/" + SEG.format("iid"), self.h_update_iterator),
            ("POST", "/v4/iterators/" + SEG.format("iid") + "/testcases/batch-add", self.h_add_to_iterator),
            ("DELETE", f"{p}/iterators/{SEG.format('iid')}/testcases/batch-delete", self.h_remove_from_iterator),
            (
                "POST",
                "/v4/{pid}/versions/" + SEG.format("vid") + "/testcases/" + SEG.format("cid") + "/results",
                self.h_add_result,
            ),
        ]
        for method, pattern, handler in table:
            route(method, pattern, self._enveloped(handler))

    def _enveloped(self, handler: Callable[..., Answer]) -> Callable[..., Answer]:
        def run(**kwargs: Any) -> Answer:
            try:
                project = (kwargs.get("query") or {}).get("project_uuid") or _get(kwargs.get("payload"), "project_uuid")
                if project and project != self.project_id:
                    raise V4Error(404, "CLOUDTEST.43040030", "The project does not exist.")
                return handler(**kwargs)
            except V4Error as exc:
                body = {"status": "error", "error": {"code": exc.code, "reason": exc.reason}}
                return exc.status, body, {}

        return run

    def _version(self, uri: Any, *, iterators: bool = True) -> str:
        uri = str(uri or self.master_uri)
        if uri in self.branches or (iterators and uri in self.iterators):
            return uri
        raise V4Error(404, "CLOUDTEST.00016001", f"The version {uri} does not exist.")

    def _case(self, uri: str) -> dict[str, Any]:
        case = self.cases.get(uri)
        if case is None:
            raise V4Error(404, "CLOUDTEST.00017001", "The test case does not exist.")
        return case

    def _iterator(self, uri: str) -> dict[str, Any]:
        it = self.iterators.get(uri)
        if it is None:
            raise V4Error(404, "CLOUDTEST.00017003", "The iteration (test plan) does not exist.")
        return it

    def h_branches(self, payload: Any, query: dict[str, str]) -> Answer:
        branches = sorted(self.branches.values(), key=lambda b: b["created"])
        value = [{"uri": b["uri"], "name": b["name"], "is_master": b["is_master"], "is_iterator": 0} for b in branches]
        return ok(value, total=len(value))

    def h_add_feature(self, payload: Any, query: dict[str, str]) -> Answer:
        version = self._version(_get(payload, "version_uri"), iterators=False)
        if str(_get(payload, "is_feature") or "2") != "2":
            raise V4Error(400, "CLOUDTEST.00015005", "Only directories (is_feature 2) can be added here.")
        parent = str(_get(payload, "parent_uri") or version)
        uri = self.add_feature(
            str(_get(payload, "name") or ""),
            parent,
            version,
            ignore_duplicate=bool(_get(payload, "ignore_duplicate_name")),
        )
        return ok(self.feature_view(self.features[uri]))

    def h_feature_children(self, payload: Any, query: dict[str, str], fid: str) -> Answer:
        if fid not in self.branches and fid not in self.features:
            raise V4Error(404, "CLOUDTEST.00015002", "The directory does not exist.")
        children = sorted((f for f in self.features.values() if f["parent_uri"] == fid), key=lambda f: f["created"])
        views = [self.feature_view(f) for f in children]
        return paged(views, _get(payload, "page_number") or 1, _get(payload, "page_size") or PAGE_SIZE_MAX)

    def h_list_cases(self, payload: Any, query: dict[str, str]) -> Answer:
        version = self._version(_get(payload, "version_uri"))
        self.list_reads[version] += 1
        if version in self.iterators:
            uris = self.iterators[version]["case_uris"]
            cases = [self.cases[u] for u in uris if u in self.cases]
        else:
            cases = [c for c in self.cases.values() if c["version_uri"] == version]
        feature = _get(payload, "feature_uri")
        if feature:
            inside = {feature}
            if _get(payload, "include_sub_feature") is not False:
                inside |= {u for u in self.features if feature in self._ancestors(u)}
            cases = [c for c in cases if c["feature_uri"] in inside]
        types = _get(payload, "test_types")
        if types:
            cases = [c for c in cases if str(c["test_type"]) in {str(t) for t in types}]
        keyword = _get(payload, "keyword")
        if keyword:
            cases = [c for c in cases if keyword in c["name"] or keyword == c["number"]]
        cases.sort(key=lambda c: (c["created"], c["uri"]))
        items = [self.list_item(c, version) for c in cases]
        return paged(items, _get(payload, "page_no") or 1, _get(payload, "page_size") or 10)

    def _ancestors(self, uri: str) -> set[str]:
        out: set[str] = set()
        while uri in self.features:
            uri = self.features[uri]["parent_uri"]
            out.add(uri)
        return out

    def h_show_case(self, payload: Any, query: dict[str, str], cid: str) -> Answer:
        return ok(self.detail(self._case(cid)))

    def h_create_case(self, payload: Any, query: dict[str, str], vid: str) -> Answer:
        if vid in self.iterators:
            raise V4Error(400, "CLOUDTEST.00016002", "Create cases in a branch, then add them to the iteration.")
        return ok(self.detail(self.put_case(payload or {}, self._version(vid, iterators=False))))

    def h_update_case(self, payload: Any, query: dict[str, str], cid: str) -> Answer:
        case = self._case(cid)
        version = self._version(_get(payload, "version_uri") or case["version_uri"], iterators=False)
        return ok(self.detail(self.put_case(payload or {}, version, uri=cid)))

    def h_delete_cases(self, payload: Any, query: dict[str, str]) -> Answer:
        ids = _get(payload, "case_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= DELETE_MAX:
            raise V4Error(400, "CLOUDTEST.00030001", f"case_ids: 1 to {DELETE_MAX} case ids.")
        for uri in ids:
            self._case(str(uri))
        for uri in ids:
            del self.cases[str(uri)]
            for it in self.iterators.values():
                it["case_uris"] = [u for u in it["case_uris"] if u != uri]
        return 200, {"status": "success", "result": {"value": "success"}}, {}

    def h_custom_fields(self, payload: Any, query: dict[str, str]) -> Answer:
        value = [
            {
                "uri": f"cf{f['custom_field_id']}",
                "name": f["name"],
                "custom_field_name": f["name"],
                "custom_field_id": f["custom_field_id"],
                "custom_field_param": f"custom_field_{f['custom_field_id']}",
                "type": f["type"],
                "options": f.get("options", ""),
                "project_uuid": self.project_id,
            }
            for f in self.custom_fields
        ]
        return 200, {"status": "success", "result": {"value": value}}, {}

    def h_test_types(self, payload: Any, query: dict[str, str]) -> Answer:
        value = [{"id": k, "name": v} for k, v in sorted(self.test_types.items())]
        return 200, {"status": "success", "result": {"value": value}}, {}

    # ---- iterations ------------------------------------------------------------------------------------
    def _check_iterator(self, payload: Any) -> tuple[str, str | None, str | None]:
        name = str(_get(payload, "name") or "").strip()
        if not name or len(name) > 128:
            raise V4Error(400, "CLOUDTEST.00070010", "The plan name must be 1 to 128 characters.")
        start, end = _get(payload, "plan_start_date"), _get(payload, "plan_end_date")
        for value, code in ((start, "CLOUDTEST.00060010"), (end, "CLOUDTEST.00060011")):
            if value and not re.match(r"^\d{4}-\d{2}-\d{2}$", str(value)):
                raise V4Error(400, code, "Dates are YYYY-MM-DD.")
        if start and end and str(start) > str(end):
            raise V4Error(400, "CLOUDTEST.00040003", "The start date is after the end date.")
        return name, start or None, end or None

    def h_create_iterator(self, payload: Any, query: dict[str, str]) -> Answer:
        branch = self._version(query.get("branch_uri"), iterators=False)
        name, start, end = self._check_iterator(payload)
        if any(i["name"] == name for i in self.iterators.values()):
            raise V4Error(400, "CLOUDTEST.00070009", "The plan name is used already.")
        uri = f"v{self._rng.getrandbits(60):015x}"
        self.iterators[uri] = {
            "uri": uri,
            "name": name,
            "branch_uri": branch,
            "number": str(_get(payload, "number") or ""),
            "description": str(_get(payload, "description") or ""),
            "plan_start_date": start,
            "plan_end_date": end,
            "current_stage": str(_get(payload, "current_stage") or "design"),
            "case_uris": [],
            "created": self.tick(),
            "last_modified": self.tick(),
            "journals": [],
        }
        self.journal(uri, "attribute", updated=[{"attribute_type": "name", "old_value": "", "new_value": name}])
        return ok(self.iterator_view(self.iterators[uri]))

    def h_list_iterators(self, payload: Any, query: dict[str, str]) -> Answer:
        name = str(_get(payload, "name") or "")
        its = sorted(self.iterators.values(), key=lambda i: i["created"])
        views = [self.iterator_view(i) for i in its if name in i["name"]]
        return paged(views, _get(payload, "page_no") or 1, _get(payload, "page_size") or 10)

    def h_show_iterator(self, payload: Any, query: dict[str, str], iid: str) -> Answer:
        return ok(self.iterator_view(self._iterator(iid)))

    def h_update_iterator(self, payload: Any, query: dict[str, str], iid: str) -> Answer:
        it = self._iterator(iid)
        name, start, end = self._check_iterator(payload)
        if any(i["name"] == name and u != iid for u, i in self.iterators.items()):
            raise V4Error(400, "CLOUDTEST.00070009", "The plan name is used already.")
        before = dict(it)
        it.update({"name": name, "plan_start_date": start, "plan_end_date": end, "last_modified": self.tick()})
        for key in ("number", "description", "current_stage"):
            if _get(payload, key) is not None:
                it[key] = str(_get(payload, key))
        changed = [
            {"attribute_type": key, "old_value": str(before.get(key) or ""), "new_value": str(it.get(key) or "")}
            for key in JOURNALED
            if before.get(key) != it.get(key)
        ]
        if changed:
            self.journal(iid, "attribute", updated=changed)
        return ok(self.iterator_view(it))

    def h_add_to_iterator(self, payload: Any, query: dict[str, str], iid: str) -> Answer:
        it = self._iterator(iid)
        items = _get(payload, "simple_resourceinfo_list") or []
        if len(items) > ADD_SYNC_MAX and str(query.get("is_async")).lower() != "true":
            raise V4Error(400, "CLOUDTEST.00030001", f"More than {ADD_SYNC_MAX} cases: send is_async=true.")
        uris = [str(_get(i, "resource_id") or "") for i in items]
        for uri in uris:
            if self._case(uri)["version_uri"] != it["branch_uri"]:
                raise V4Error(400, "CLOUDTEST.00017057", "The case is not in the iteration's branch.")
        new = [u for u in dict.fromkeys(uris) if u not in it["case_uris"]]
        it["case_uris"].extend(new)
        it["last_modified"] = self.tick()
        if new:
            self.journal(iid, "resource", added=[{"id": u, "name": self.cases[u]["name"]} for u in new])
        return 200, {"status": "success", "result": {"value": "success"}}, {}

    def h_remove_from_iterator(self, payload: Any, query: dict[str, str], iid: str) -> Answer:
        it = self._iterator(iid)
        gone = {str(_get(c, "id") or "") for c in _get(payload, "case_list") or []}
        missing = gone - set(it["case_uris"])
        if missing:
            raise V4Error(400, "CLOUDTEST.00017057", f"Not in the iteration: {', '.join(sorted(missing))}.")
        it["case_uris"] = [u for u in it["case_uris"] if u not in gone]
        it["last_modified"] = self.tick()
        self.journal(iid, "resource", deleted=[{"id": u, "name": self.cases[u]["name"]} for u in sorted(gone)])
        value = {"id": f"{self.project_id}-{iid}-{','.join(sorted(gone))}", "name": "remove"}
        return 200, {"status": "success", "result": {"value": value}}, {}

    def h_add_result(self, payload: Any, query: dict[str, str], vid: str, cid: str) -> Answer:
        it = self._iterator(vid) if vid in self.iterators else None
        self._version(vid)
        case = self._case(cid)
        if it is not None and cid not in it["case_uris"]:
            raise V4Error(400, "CLOUDTEST.00017057", "The case is not in this iteration.")
        code = str(_get(payload, "result") or "")
        if code not in RESULT_NAMES:
            raise V4Error(400, "CLOUDTEST.00017058", f"result must be one of {', '.join(RESULT_NAMES)}.")
        description = str(_get(payload, "description") or "")
        if len(description) > 2000:
            raise V4Error(400, "CLOUDTEST.00017063", "The description is longer than 2,000 characters.")
        uri = str(_get(payload, "uri") or "")
        history = self.results.setdefault((vid, cid), [])
        if uri and any(r["uri"] == uri for r in history):
            raise V4Error(400, "CLOUDTEST.00017025", "A result with this uri is recorded already.")
        now = self.tick()
        result = {
            "uri": uri or self.new_uri(),
            "name": str(_get(payload, "name") or case["name"]),
            "result": int(code),
            "result_name": RESULT_NAMES[code],
            "description": description,
            "round": len(history) + 1,
            "test_case_uri": cid,
            "test_case_name": case["name"],
            "parent_uri": vid,
            "release_dev": str(_get(payload, "release_dev") or ""),
            "end_time": _iso(now),
            "end_time_timestamp": now,
            "duration": 0,
            "author": self.user_id,
            "author_name": self.user_name,
        }
        history.append(result)
        return ok({k: v for k, v in result.items() if k != "duration"})


def _get(payload: Any, key: str) -> Any:
    return payload.get(key) if isinstance(payload, dict) else None
