"""Huawei's official SDK (an independent client) against our simulator on loopback."""

from __future__ import annotations

import time

import pytest
from huaweicloudsdkcloudtest.v1 import CloudtestClient
from huaweicloudsdkcloudtest.v1.model import (
    CreatePlanRequest,
    CreatePlanRequestBody,
    CreateServiceRequest,
    CreateTestCaseInPlanRequest,
    CreateTestCaseInPlanRequestBody,
    CreateTestCaseRequest,
    CreateTestCaseRequestBody,
    ExternalServiceCaseInfo,
    ExternalServiceCaseStep,
    ListTestCasesRequest,
    ListTestCasesRequestBody,
    PlanCycle,
    RunTestCaseRequest,
    RunTestCaseRequestBody,
    ServiceRequestBody,
    ShowPlansRequest,
    UpdateTestCaseResultBean,
    UpdateTestCaseResultRequest,
    UpdateTestCaseResultRequestBody,
)
from huaweicloudsdkcloudtest.v1.model import (
    TestCaseExecuteBean as ExecuteBean,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from adapters.codearts.simulator import CodeArtsSimulator


def _client(url: str, ak: str, sk: str, project_id: str) -> CloudtestClient:
    return (
        CloudtestClient.new_builder()
        .with_credentials(BasicCredentials(ak, sk, project_id))
        .with_endpoints([url])
        .build()
    )


def test_sdk_creates_lists_plans_and_posts_results():
    sim = CodeArtsSimulator()
    with sim.serve() as server:
        creds = sim.credentials()
        pid = creds["project_id"]
        client = _client(server.url, creds["ak"], creds["sk"], pid)
        service = client.create_service(
            CreateServiceRequest(body=ServiceRequestBody(service_name="sdk-svc", server_host="https://x.example"))
        )
        steps = [ExternalServiceCaseStep(test_step="open page", expect_result="page shown")]
        created = client.create_test_case(
            CreateTestCaseRequest(
                project_id=pid,
                body=CreateTestCaseRequestBody(
                    name="SDK case",
                    service_id=service.service_id,
                    rank_id="1",
                    testcase_number="sdk-0001",
                    extend_info=ExternalServiceCaseInfo(description="d", steps=steps, label_list=["smoke"]),
                ),
            )
        )
        assert created.testcase_number == "sdk-0001"
        assert created.extend_info.steps[0].expect_result == "page shown"
        listed = client.list_test_cases(
            ListTestCasesRequest(project_id=pid, body=ListTestCasesRequestBody(offset=0, limit=200))
        )
        assert listed.total == 1 and listed.values[0].id == created.testcase_id

        plan = client.create_plan(
            CreatePlanRequest(
                project_id=pid,
                body=CreatePlanRequestBody(
                    name="SDK plan",
                    service_id_list=[service.service_id],
                    plan_cycle=PlanCycle(start_date="2024-03-04", end_date="2024-03-31"),
                ),
            )
        )
        plans = client.show_plans(ShowPlansRequest(project_id=pid, offset=1, limit=10))
        assert [p.plan_id for p in plans.body] == [plan.plan_id]

        client.create_test_case_in_plan(
            CreateTestCaseInPlanRequest(
                project_id=pid,
                plan_id=plan.plan_id,
                body=CreateTestCaseInPlanRequestBody(
                    service_id=service.service_id, testcase_id_list=[created.testcase_id]
                ),
            )
        )
        assert created.testcase_id in sim.plans[plan.plan_id]["case_ids"]

        now = int(time.time() * 1000)
        client.run_test_case(
            RunTestCaseRequest(
                project_id=pid,
                body=RunTestCaseRequestBody(
                    service_id=service.service_id,
                    plan_id=plan.plan_id,
                    execute_list=[
                        ExecuteBean(testcase_id=created.testcase_id, execute_id="e1", result_id="5", start_time=now)
                    ],
                ),
            )
        )
        client.update_test_case_result(
            UpdateTestCaseResultRequest(
                project_id=pid,
                body=UpdateTestCaseResultRequestBody(
                    service_id=service.service_id,
                    plan_id=plan.plan_id,
                    execute_list=[
                        UpdateTestCaseResultBean(
                            testcase_id=created.testcase_id,
                            execute_id="e1",
                            result_id="0",
                            end_time=now + 5,
                            duration=5,
                        )
                    ],
                ),
            )
        )
        assert sim.cases[created.testcase_id]["result_id"] == "0"


def test_sdk_refused_with_wrong_secret_key():
    sim = CodeArtsSimulator(seed=3)
    with sim.serve() as server:
        creds = sim.credentials()
        client = _client(server.url, creds["ak"], "not-the-secret", creds["project_id"])
        with pytest.raises(ClientRequestException) as info:
            client.show_plans(ShowPlansRequest(project_id=creds["project_id"], offset=1, limit=10))
        assert info.value.status_code == 401
        assert info.value.error_code == "APIG.0301"
