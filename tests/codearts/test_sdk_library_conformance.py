"""Huawei's official SDK, unchanged, drives the simulator's v4 native-library routes; the simulator's state is
checked after each call (the SDK is an independent client: its paths, models and parsing are the contract)."""

from __future__ import annotations

import pytest
from huaweicloudsdkcloudtest.v1 import CloudtestClient
from huaweicloudsdkcloudtest.v1.model import (
    AddCaseResultFourRequest,
    AddFeatureRequest,
    AddResourceInfo,
    AddResourceToIteratorRequest,
    AddTestCaseResultInfo,
    AddTestItemInfo,
    BatchDeleteTestCasesRequest,
    BatchRemoveTestCasesFromIteratorRequest,
    CaseIdAndTypeInfo,
    CaseRemoveInfo,
    CreateTestIteratorRequest,
    CreateVersionTestCaseRequest,
    DeleteTestCaseInfo,
    IteratorVersionInfo,
    IteratorVersionsQueryInfo,
    ListAllBranchesRequest,
    ListAllTestCasesRequest,
    ListIteratorsInfoRequest,
    ListProjectTestCaseFieldsRequest,
    QueryTestItemTreeInfo,
    ShowFeatureChildrenRequest,
    ShowTestCaseRequest,
    SimpleResourceInfo,
    UpdateTestIteratorRequest,
    UpdateVersionTestCaseRequest,
)
from huaweicloudsdkcloudtest.v1.model import TestCaseInfo as CaseInfo
from huaweicloudsdkcloudtest.v1.model import TestCasesQueryInfo as CasesQuery
from huaweicloudsdkcloudtest.v1.model import TestCaseStepInfo as StepInfo
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from adapters.codearts.simulator import CodeArtsSimulator

LONG = [
    "Mobile banking app and wallet",
    "Payments, transfers and standing orders",
    "International SWIFT transfers with FX",
]


@pytest.fixture
def world():
    sim = CodeArtsSimulator(seed=3)
    with sim.serve() as server:
        creds = sim.credentials()
        client = (
            CloudtestClient.new_builder()
            .with_credentials(BasicCredentials(creds["ak"], creds["sk"], creds["project_id"]))
            .with_endpoints([server.url])
            .build()
        )
        yield sim, client, creds["project_id"]


def _dir(client: CloudtestClient, pid: str, name: str, parent: str, branch: str) -> str:
    answer = client.add_feature(
        AddFeatureRequest(
            body=AddTestItemInfo(name=name, is_feature="2", parent_uri=parent, version_uri=branch, project_uuid=pid)
        )
    )
    assert answer.status == "success"
    return str(answer.result.value.uri)


def test_sdk_drives_branches_directories_and_cases(world):
    sim, client, pid = world
    lib = sim.library
    branches = client.list_all_branches(ListAllBranchesRequest(project_uuid=pid))
    master = [b for b in branches.result.value if b.is_master == 1]
    assert len(master) == 1 and master[0].uri == lib.master_uri
    branch = master[0].uri

    # a three-level directory path with names longer than 25 characters
    parent = branch
    for name in LONG:
        parent = _dir(client, pid, name, parent, branch)
    assert lib.feature_path(parent) == LONG
    children = client.show_feature_children(
        ShowFeatureChildrenRequest(
            feature_id=lib.features[parent]["parent_uri"],
            body=QueryTestItemTreeInfo(version_uri=branch, project_uuid=pid, page_number=1, page_size=50),
        )
    )
    assert [c.name for c in children.result.value] == [LONG[2]]

    info = CaseInfo(
        name="Transfer above the daily limit asks for a second factor",
        rank=1,
        preparation="A customer with two accounts",
        remark="From the refinement",
        steps=[StepInfo(test_step="Send 10,001 EUR", expect_result="An OTP is requested")],
        tags="payments,otp",
        feature_uri=parent,
        test_type=1,
        custom_field_1="Android",
        compare_number="tpb-marker-1",
        project_uuid=pid,
    )
    created = client.create_version_test_case(CreateVersionTestCaseRequest(version_id=branch, body=info))
    uri = created.result.value.uri
    stored = lib.cases[uri]
    assert (stored["name"], stored["rank"], stored["feature_uri"], stored["compare_number"]) == (
        info.name,
        1,
        parent,
        "tpb-marker-1",
    )
    assert stored["steps"] == [{"test_step": "Send 10,001 EUR", "expect_result": "An OTP is requested"}]
    assert created.result.value.custom_field_1 == "Android"

    shown = client.show_test_case(ShowTestCaseRequest(testcase_id=uri, version_uri=branch, project_uuid=pid))
    assert shown.result.value.steps[0].expect_result == "An OTP is requested"
    assert shown.result.value.preparation == "A customer with two accounts"
    first_mark = shown.result.value.last_modified_timestamp

    info.name = "Transfer above the daily limit asks for an OTP"
    info.version_uri = branch
    client.update_version_test_case(UpdateVersionTestCaseRequest(case_id=uri, body=info))
    assert lib.cases[uri]["name"] == info.name and lib.cases[uri]["last_modified"] > first_mark

    # the list pages with page_no/page_size and carries last_modified, no steps
    seen: list[str] = []
    page_no = 1
    while True:
        page = client.list_all_test_cases(
            ListAllTestCasesRequest(project_id=pid, body=CasesQuery(version_uri=branch, page_no=page_no, page_size=10))
        )
        seen += [item.uri for item in page.result.value]
        assert all(item.last_modified for item in page.result.value)
        if not page.result.has_more:
            break
        page_no += 1
    assert page_no > 1 and len(seen) == len(set(seen)) == len(lib.cases)
    assert uri in seen

    fields = client.list_project_test_case_fields(ListProjectTestCaseFieldsRequest(project_id=pid))
    assert {f.custom_field_name for f in fields.result.value} >= {"Component"}

    client.batch_delete_test_cases(
        BatchDeleteTestCasesRequest(body=DeleteTestCaseInfo(project_uuid=pid, version_uri=branch, case_ids=[uri]))
    )
    assert uri not in lib.cases
    with pytest.raises(ClientRequestException) as refused:
        client.show_test_case(ShowTestCaseRequest(testcase_id=uri, version_uri=branch, project_uuid=pid))
    assert refused.value.status_code == 404


def test_sdk_drives_iterations_and_results(world):
    sim, client, pid = world
    lib = sim.library
    branch = lib.master_uri
    created = client.create_test_iterator(
        CreateTestIteratorRequest(
            branch_uri=branch,
            body=IteratorVersionInfo(
                name="Sprint 41", plan_start_date="2024-06-03", plan_end_date="2024-06-14", project_uuid=pid
            ),
        )
    )
    it = created.result.value.uri
    assert lib.iterators[it]["name"] == "Sprint 41"

    client.update_test_iterator(
        UpdateTestIteratorRequest(
            iterator_uri=it,
            body=IteratorVersionInfo(
                name="Sprint 41 (hotfix)", plan_start_date="2024-06-04", plan_end_date="2024-06-20", project_uuid=pid
            ),
        )
    )
    assert (lib.iterators[it]["name"], lib.iterators[it]["plan_end_date"]) == ("Sprint 41 (hotfix)", "2024-06-20")

    cases = sorted(u for u, c in lib.cases.items() if c["version_uri"] == branch)[:3]
    client.add_resource_to_iterator(
        AddResourceToIteratorRequest(
            iterator_uri=it,
            body=AddResourceInfo(
                project_uuid=pid,
                iterator_uri=it,
                simple_resourceinfo_list=[SimpleResourceInfo(resource_id=c) for c in cases],
            ),
        )
    )
    assert lib.iterators[it]["case_uris"] == cases
    client.batch_remove_test_cases_from_iterator(
        BatchRemoveTestCasesFromIteratorRequest(
            iterator_id=it,
            body=CaseRemoveInfo(project_uuid=pid, iterator_uri=it, case_list=[CaseIdAndTypeInfo(id=cases[0])]),
        )
    )
    assert lib.iterators[it]["case_uris"] == cases[1:]

    answer = client.add_case_result_four(
        AddCaseResultFourRequest(
            project_id=pid, version_uri=it, case_uri=cases[1], body=AddTestCaseResultInfo(result="1", description="x")
        )
    )
    assert answer.result.value.result == 1
    assert lib.results[(it, cases[1])][-1]["result"] == 1
    in_plan = client.list_all_test_cases(
        ListAllTestCasesRequest(project_id=pid, body=CasesQuery(version_uri=it, page_no=1, page_size=50))
    )
    by_uri = {item.uri: item for item in in_plan.result.value}
    assert set(by_uri) == set(cases[1:]) and by_uri[cases[1]].result.id == "1"

    listed = client.list_iterators_info(
        ListIteratorsInfoRequest(body=IteratorVersionsQueryInfo(project_uuid=pid, page_no=1, page_size=10))
    )
    assert it in [i.uri for i in listed.result.value]
    with pytest.raises(ClientRequestException):
        client.add_case_result_four(
            AddCaseResultFourRequest(
                project_id=pid, version_uri=it, case_uri=cases[0], body=AddTestCaseResultInfo(result="0")
            )
        )


def test_an_unpublished_route_is_the_gateways_404(world):
    sim, client, pid = world
    # the SDK's show_test_version_case (GET /v4/testcases/{uri}) is not served here, like on the live gateway
    from huaweicloudsdkcloudtest.v1.model import ShowTestVersionCaseRequest

    with pytest.raises(ClientRequestException) as refused:
        client.show_test_version_case(ShowTestVersionCaseRequest(case_uri="x" * 32, project_uuid=pid))
    assert refused.value.status_code == 404 and refused.value.error_code == "APIG.0101"
