"""Replays every exchange recorded from a real TestPlanIt 0.11.13 server against the simulator.

The simulator starts from the state the real server had when the recording began (same projects, folders,
cases and id sequences), so ids line up; the token and user id are the simulator's own. For each exchange
the status code and the shape of the answer (keys and value types, recursively, including the superjson meta
paths) must equal the real server's, and the answer must validate against the server's OpenAPI description
where that describes the status.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import jsonschema
import pytest
from tpi_helpers import FIXTURES, load_fixture

from adapters.testplanit.simulator import TestPlanItSimulator

TRANSCRIPT = load_fixture("real-transcript.json")
FIELDS_TRANSCRIPT = load_fixture("real-fields-transcript.json")
OPENAPI = load_fixture("openapi-subset.json")
REAL_USER = "cmwrql4vh0000l77d6wkm9nua"
REAL_PREFIX = "tpi_93Jr69Py"
FIELDS_USER = "cmx6go9570000gg7decjy7stv"
FIELDS_PREFIX = "tpi_<prefix>"


def recorded_state() -> tuple[TestPlanItSimulator, str]:
    """A simulator holding what the real server held before the first recorded request."""
    sim = TestPlanItSimulator(project_name="E2E Test Project", seed_style="repo")
    token = sim.add_token(REAL_USER, name="e2e")
    db = sim.db
    base = {"projectId": 1, "repositoryId": 1}
    for name in ("Sync Folder", "Sync Folder 1795346062.1448398"):
        db.insert("repositoryFolders", {**base, "name": name, "parentId": 1}, auth=REAL_USER)
    names = [
        "Login with valid credentials",
        "User profile update",
        "Password reset flow",
        "Search",
        "Export",
        "Import",
        "Logout",
    ]
    for name in names:
        db.insert(
            "repositoryCases", {**base, "folderId": 1, "templateId": 1, "stateId": 11, "name": name}, auth=REAL_USER
        )
    for i in range(4):
        db.insert("steps", {"testCaseId": 4 + i % 2, "order": i, "step": "{}", "expectedResult": "{}"})
    db.insert("tags", {"name": "legacy"})
    db.set_next_id("milestoneTypes", 6)
    db.insert("milestoneTypes", {"name": "Release"})
    db.insert("milestones", {"projectId": 1, "milestoneTypesId": 1, "name": "M0", "createdBy": REAL_USER})
    db.set_next_id("testRuns", 4)
    for name in ("Empty Test Run", "Sync run"):
        db.insert("testRuns", {"projectId": 1, "name": name, "stateId": 6}, auth=REAL_USER)
    db.set_next_id("testRuns", 7)
    db.set_next_id("testRunCases", 13)
    db.set_next_id("testRunResults", 11)
    db.insert("issue", {"name": "OLD-1", "title": "old", "createdById": REAL_USER})
    return sim, token


def recorded_fields_state() -> tuple[TestPlanItSimulator, str]:
    """What the real server held before the case-fields recording: the repo's seed (fields 1-4, the default
    template assigned to a second project only), five cases, four runs."""
    sim = TestPlanItSimulator(project_name="E2E Test Project", seed_style="repo")
    token = sim.add_token(FIELDS_USER, name="fields")
    db = sim.db
    other = db.insert("projects", {"name": "Wizard Project"}, auth=FIELDS_USER)
    db.insert("templateProjectAssignment", {"templateId": 1, "projectId": other["id"]})
    for i in range(5):
        case = {"projectId": 1, "repositoryId": 1, "folderId": 1, "templateId": 1, "stateId": 11, "name": f"Seed {i}"}
        db.insert("repositoryCases", case, auth=FIELDS_USER)
    db.set_next_id("testRuns", 5)
    db.set_next_id("testRunCases", 12)
    db.set_next_id("testRunResults", 10)
    return sim, token


def rebase(value: Any, token: str, prefix: str = REAL_PREFIX, times: dict[str, str] | None = None) -> Any:
    text = json.dumps(value).replace(prefix, token[:12])
    for real, simulated in (times or {}).items():
        text = text.replace(f'"{real}"', f'"{simulated}"')
    return json.loads(text)


ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def learn_times(real: Any, simulated: Any, times: dict[str, str]) -> None:
    """Server times the simulator answered where the real server answered others, so that a later request
    quoting a time it was given (``executedAt > the first result's``) quotes the simulator's."""
    if isinstance(real, dict) and isinstance(simulated, dict):
        for key in real.keys() & simulated.keys():
            learn_times(real[key], simulated[key], times)
    elif isinstance(real, list) and isinstance(simulated, list):
        for a, b in zip(real, simulated, strict=False):
            learn_times(a, b, times)
    elif isinstance(real, str) and isinstance(simulated, str) and ISO_TIME.match(real) and real != simulated:
        times.setdefault(real, simulated)


def shape(value: Any) -> Any:
    """Keys and value types, recursively (numbers are one type, as in JSON)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def response_schema(path: str, method: str, status: int) -> dict[str, Any] | None:
    spec = OPENAPI["paths"].get(path, {}).get(method.lower())
    if not spec:
        return None
    schema = spec["responses"].get(str(status))
    if schema is None:
        return None
    return {**schema, "components": OPENAPI["components"]}


def test_fixture_is_complete_and_small() -> None:
    assert len(TRANSCRIPT["exchanges"]) == 51
    assert len(FIELDS_TRANSCRIPT["exchanges"]) == 47
    assert (FIXTURES / "openapi-subset.json").stat().st_size < 1_000_000


def replay(transcript: dict[str, Any], sim: TestPlanItSimulator, token: str, prefix: str) -> tuple[list[str], int]:
    """Send every recorded request to the simulator; the mismatches and how many answers the OpenAPI checked."""
    mismatches: list[str] = []
    validated = 0
    times: dict[str, str] = {}
    with sim.serve() as server, httpx.Client(base_url=server.url) as client:
        for number, exchange in enumerate(transcript["exchanges"]):
            req, real = exchange["request"], exchange["response"]
            headers = {}
            auth = req["authorization"]
            if auth == "Bearer <malformed>":
                headers["Authorization"] = "Bearer not-a-token"
            elif auth and exchange["name"].startswith("auth: wrong"):
                headers["Authorization"] = "Bearer tpi_" + "x" * 43
            elif auth:
                headers["Authorization"] = f"Bearer {token}"
            url = req["path"]
            if req["raw_query"]:
                url += "?" + req["raw_query"]
            params = {"q": json.dumps(rebase(req["q"], token, prefix, times))} if req["q"] is not None else None
            body = rebase(req["body"], token, prefix, times) if req["body"] is not None else None
            got = client.request(req["method"], url, params=params, json=body, headers=headers)
            name = f"#{number} {exchange['name']}"
            if got.status_code != real["status"]:
                mismatches.append(f"{name}: status {got.status_code} != {real['status']}: {got.text[:300]}")
                continue
            answer = got.json()
            learn_times(real["body"], answer, times)
            if shape(answer) != shape(real["body"]):
                mismatches.append(f"{name}: shape\n  sim:  {shape(answer)}\n  real: {shape(real['body'])}")
            schema = response_schema(req["path"], req["method"], got.status_code)
            if schema is not None:
                jsonschema.validate(real["body"], schema)  # the schema describes the real server ...
                jsonschema.validate(answer, schema)  # ... and the simulator
                if not _has_select(req) and isinstance(answer.get("data"), (dict, list)):
                    _check_required_scalars(req["path"], answer["data"])
                validated += 1
    return mismatches, validated


def test_replay_matches_real_server() -> None:
    sim, token = recorded_state()
    mismatches, validated = replay(TRANSCRIPT, sim, token, REAL_PREFIX)
    assert not mismatches, "\n".join(mismatches)
    assert validated >= 35


def test_replay_of_case_fields_matches_real_server() -> None:
    """Templates, case fields and their options and values, result fields, soft delete (47 exchanges)."""
    sim, token = recorded_fields_state()
    mismatches, validated = replay(FIELDS_TRANSCRIPT, sim, token, FIELDS_PREFIX)
    assert not mismatches, "\n".join(mismatches)
    assert validated >= 15


def _has_select(req: dict[str, Any]) -> bool:
    args = req["q"] if req["q"] is not None else req["body"] or {}
    return "select" in args


def _check_required_scalars(path: str, data: Any) -> None:
    """Without ``select`` every scalar the schema requires is present (as on the real server)."""
    model = path.split("/")[3]
    names = {
        "repositoryCases": "RepositoryCases",
        "repositoryFolders": "RepositoryFolders",
        "testRuns": "TestRuns",
        "testRunCases": "TestRunCases",
        "testRunResults": "TestRunResults",
        "milestones": "Milestones",
        "issue": "Issue",
        "repositories": "Repositories",
        "tags": "Tags",
    }
    if model not in names or path.endswith(("createMany", "updateMany", "deleteMany", "count")):
        return
    required = OPENAPI["components"]["schemas"][names[model]]["x-required-scalars"]
    for row in data if isinstance(data, list) else [data]:
        assert not set(required) - set(row), (path, set(required) - set(row))


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/api/model/repositoryCases/count", {"json": {}}, 400),
        ("GET", "/api/model/repositoryCases/create", {}, 400),
        ("DELETE", "/api/model/tags/deleteMany", {}, 400),
        ("GET", "/api/model/repositoryCases/findUnique", {"params": {"q": '{"where": {"name": "x"}}'}}, 400),
    ],
)
def test_method_and_argument_rules(method: str, path: str, kwargs: dict[str, Any], status: int) -> None:
    sim = TestPlanItSimulator()
    with sim.serve() as server:
        got = httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {sim.token}"}, **kwargs)
    assert got.status_code == status
    assert isinstance(got.json()["error"]["message"], str)


@pytest.mark.parametrize(
    ("method", "path", "args", "argument"),
    [
        ("GET", "/api/model/repositoryCases/findMany", {"where": {"projectId": "1"}}, "projectId"),
        ("GET", "/api/model/workflows/findMany", {"where": {"scope": "STEPS"}}, "scope"),
        ("GET", "/api/model/caseFieldValues/findMany", {"where": {"fieldId": {"in": 2}}}, "in"),
        ("PATCH", "/api/model/testRuns/update", {"where": {"id": 1}, "data": {"testRunType": "DAILY"}}, "testRunType"),
    ],
)
def test_arguments_outside_the_servers_schema_are_refused(
    method: str, path: str, args: dict[str, Any], argument: str
) -> None:
    """Enum values outside the schema and filters of the wrong type: 400 from Prisma, nothing written."""
    sim = TestPlanItSimulator(seed=3)
    before = sim.rows("testRuns")
    with sim.serve() as server:
        kwargs: dict[str, Any] = {"params": {"q": json.dumps(args)}} if method == "GET" else {"json": args}
        got = httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {sim.token}"}, **kwargs)
    assert got.status_code == 400
    error = got.json()["error"]
    assert error["prisma"] is True and f"Argument `{argument}`" in error["message"]
    assert sim.rows("testRuns") == before


def test_soft_deleted_case_keeps_its_unique_key() -> None:
    """Creating a case again after a soft delete collides with the deleted row (400 P2002), as on the server."""
    sim = TestPlanItSimulator(seed=3)
    case = next(c for c in sim.rows("repositoryCases") if c["className"])
    headers = {"Authorization": f"Bearer {sim.token}"}
    with sim.serve() as server, httpx.Client(base_url=server.url, headers=headers) as client:
        gone = client.patch(
            "/api/model/repositoryCases/update", json={"where": {"id": case["id"]}, "data": {"isDeleted": True}}
        )
        assert gone.status_code == 200
        data = {
            key: case[key]
            for key in ("name", "className", "source", "projectId", "repositoryId", "folderId", "templateId", "stateId")
        }
        again = client.post("/api/model/repositoryCases/createMany", json={"data": [data]})
    assert again.status_code == 400 and again.json()["error"]["code"] == "P2002"
