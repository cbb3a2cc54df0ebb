"""The clients refuse answers that parse but lack what their adapters read: an UnexpectedAnswer naming the
record and the route, not a KeyError or TypeError deep in a conversion. Scripted answers on loopback."""

from __future__ import annotations

import json

import pytest

from adapters.apptest.client import AppTestClient
from adapters.apptest.settings import AppTestSettings
from adapters.perftest.client import PerfTestClient
from adapters.perftest.settings import PerfTestSettings
from adapters.testplanit.client import TestPlanItClient
from adapters.testrail.client import TestRailClient
from adapters.testrail.settings import TestRailSettings
from bridge.errors import MissingRoute, NotFound, NotSent, UnexpectedAnswer
from bridge.http import HttpSettings

from .loopback import Script

JSON = {"Content-Type": "application/json"}


def answer(body: object, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, JSON, json.dumps(body).encode()


def tr_client(url: str) -> TestRailClient:
    return TestRailClient(TestRailSettings(url=url, user="u@example.com", api_key="k", project=1, max_retries=0))


def test_testrail_records_without_the_keys_the_adapter_reads_are_refused(script: Script, server_url: str) -> None:
    page = {
        "offset": 0,
        "limit": 250,
        "size": 2,
        "_links": {"next": None},
        "cases": [{"id": 1, "section_id": 2}, {"id": 5}],
    }
    script.queue("/index.php", answer(page))
    with pytest.raises(UnexpectedAnswer, match=r"case 5 has no 'section_id'.*\(GET get_cases -> 200\)"):
        tr_client(server_url).all("get_cases", "cases", 1)
    script.queue("/index.php", answer([{"id": 1, "section_id": 2}]))
    with pytest.raises(UnexpectedAnswer, match="get_case answered an array where one case is expected"):
        tr_client(server_url).get("get_case", 1)
    script.queue("/index.php", answer({"suites": []}))
    with pytest.raises(UnexpectedAnswer, match=r"expected a JSON array, got object.*GET get_suites -> 200"):
        tr_client(server_url).array("get_suites", 1)


def test_testrail_404_is_a_missing_route_and_400_on_an_unknown_id_is_not_found(script: Script, server_url: str) -> None:
    script.queue("/index.php", answer({"error": "Unknown method 'get_labels'"}, 404))
    with pytest.raises(MissingRoute) as missing:
        tr_client(server_url).get("get_labels", 1)
    assert not isinstance(missing.value, NotFound) and "does not know this API method" in str(missing.value)
    script.queue("/index.php", answer({"error": "Field :case_id is not a valid test case."}, 400))
    with pytest.raises(NotFound):
        tr_client(server_url).get("get_case", 99)


def test_testplanit_rows_of_the_wrong_shape_are_refused(script: Script, server_url: str) -> None:
    client = TestPlanItClient(HttpSettings(base_url=server_url, max_retries=0), "tpi_token")
    script.queue("/api/model/repositoryCases/findMany", answer({"data": {"id": 1}}))
    with pytest.raises(UnexpectedAnswer, match="expected a list of rows, got object"):
        client.read("repositoryCases", "findMany", {})
    client = TestPlanItClient(HttpSettings(base_url=server_url, max_retries=0), "tpi_token")
    script.queue("/api/model/repositoryCases/findFirst", answer({"data": {"name": "no id"}}))
    with pytest.raises(UnexpectedAnswer, match="row 1 has no 'id'"):
        client.read("repositoryCases", "findFirst", {"where": {"id": 3}})
    with pytest.raises(NotSent):  # and the client sends nothing more
        client.read("repositoryCases", "findMany", {})
    client = TestPlanItClient(HttpSettings(base_url=server_url, max_retries=0), "tpi_token")
    script.queue("/api/model/apiToken/findFirst", answer({"data": {"userId": "u1"}}))
    assert client.read("apiToken", "findFirst", {"select": {"userId": True}}) == {"userId": "u1"}  # no id asked
    script.queue("/api/model/repositoryCases/findUnique", answer({"data": None}))
    assert client.read("repositoryCases", "findUnique", {"where": {"id": 3}}) is None  # gone: null


def test_testplanit_404_without_prisma_code_is_a_missing_route(script: Script, server_url: str) -> None:
    client = TestPlanItClient(HttpSettings(base_url=server_url, max_retries=0), "tpi_token")
    script.queue("/api/model/repositoryCase/update", answer({"error": {"message": "unknown model"}}, 404))
    with pytest.raises(MissingRoute):
        client.update("repositoryCase", {"where": {"id": 1}, "data": {}})
    client = TestPlanItClient(HttpSettings(base_url=server_url, max_retries=0), "tpi_token")
    gone = {"error": {"message": "Record to update not found.", "prisma": True, "code": "P2025"}}
    script.queue("/api/model/repositoryCases/update", answer(gone, 404))
    with pytest.raises(NotFound):
        client.update("repositoryCases", {"where": {"id": 1}, "data": {}})


def test_apptest_and_perftest_answers_without_their_ids_are_refused(script: Script, server_url: str) -> None:
    app = AppTestClient("app", AppTestSettings(url=server_url, user_id="u", access_key="k", max_retries=0))
    script.queue("/openapi/v2/testset/7", answer({"result_code": "oops", "data": {}}))
    with pytest.raises(UnexpectedAnswer, match="result_code 'oops' is not a number"):
        app.status(7)
    perf = PerfTestClient(
        "pt",
        PerfTestSettings(url=server_url, project_id="p" * 32, ak="AK", sk="SK", perftest_project_id=3, max_retries=0),
    )
    script.queue(f"/v3/{'p' * 32}/tasks", answer({"code": "ok", "message": "created"}, 201))
    with pytest.raises(UnexpectedAnswer, match="names no task_id"):
        perf.create_task("Nightly", [1, 2])
