"""The vendor document's example responses (a vcrpy cassette in tests/fixtures/codearts) parsed by our client."""

from __future__ import annotations

from pathlib import Path

import pytest
import vcr

from adapters.codearts import convert
from adapters.codearts.client import CodeArtsClient
from adapters.codearts.settings import CodeArtsSettings
from bridge.errors import PartialBatchFailure, ValidationFailed

CASSETTE = Path(__file__).parents[1] / "fixtures" / "codearts" / "vendor_examples.yaml"
PID = "efdb403066474ab08836b9eeaaa23bca"
PLAN = "9b26f58ec29943f681804a6628779a23"


@pytest.fixture
def client():
    settings = CodeArtsSettings(
        url="https://cloudtest-ext.ap-southeast-3.myhuaweicloud.com", project_id=PID, ak="AK", sk="SK", max_retries=0
    )
    replay = vcr.VCR(record_mode="none", match_on=["method", "scheme", "host", "path", "query"])
    with replay.use_cassette(str(CASSETTE)):
        c = CodeArtsClient(settings)
        yield c
        c.close()


def test_examples_parse(client):
    envs = client.list_environments(0, 200)
    assert envs["total_count"] == 50 and envs["environments"][0]["is_default"] is True

    assert (
        client.create_plan({"name": "n", "service_id_list": [13], "plan_cycle": {}})
        == "b66aab5469cc4ab39b0dda8e644a42a4"
    )

    v1 = client.list_plans_v1(1, 10)
    v2 = client.list_plans_v2(0, 10)
    assert v1 == v2
    plan = convert.plan_from_native(v1[0], [])
    assert plan.id == "c7c2ddf2ea914164ac6ee76bf11a30ea" and plan.name == "Test" and plan.marker is None
    assert str(plan.start_date) == "2021-07-10"

    assert client.plan_issues(PLAN, 0, 10)[0]["workitem_id"] == "4192353"
    journal = client.plan_journals(PLAN, 0, 10)[0]
    assert journal["detail"][0]["updated"][0]["new_value"] == "tester"

    suite = client.create_api_test_suite(
        "jalor_test_suite", "aa03aeee96fa48f0acc223f0ab503a1f", "master", "apitest.yaml"
    )
    assert suite["testcase_ids"] == [""]  # the example names the list "testsuite_ids"


def test_example_errors_are_typed(client):
    with pytest.raises(PartialBatchFailure) as info:
        client.batch_add_cases(PLAN, 13, ["97b82412f1ca4628803b918c27ed09de"])
    assert info.value.failures[0].item_id == "efdb403066474ab08836b9eeaaa23bca"
    assert info.value.failures[0].message == "Returned error information"
    item = {"testcase_id": "a" * 32, "execute_id": "e", "result_id": "9", "start_time": 1}
    with pytest.raises(ValidationFailed) as err:
        client.run_cases(13, [item])
    assert err.value.code == "CLOUDTEST.00017058"
    assert "0, 1, 5 or 6" in (err.value.hint or "")
