"""End to end through the simulators: a CodeArts team's own cases (made with Huawei's official SDK, the way
another tool or the web UI would) travel to TestRail and TestPlanIt and back, plans included."""

from __future__ import annotations

from pathlib import Path

from e2e_harness import World, world
from huaweicloudsdkcloudtest.v1 import CloudtestClient
from huaweicloudsdkcloudtest.v1.model import (
    AddFeatureRequest,
    AddResourceInfo,
    AddResourceToIteratorRequest,
    AddTestItemInfo,
    BatchRemoveTestCasesFromIteratorRequest,
    CaseIdAndTypeInfo,
    CaseRemoveInfo,
    CreateTestIteratorRequest,
    CreateVersionTestCaseRequest,
    IteratorVersionInfo,
    SimpleResourceInfo,
    UpdateVersionTestCaseRequest,
)
from huaweicloudsdkcloudtest.v1.model import TestCaseInfo as CaseInfo
from huaweicloudsdkcloudtest.v1.model import TestCaseStepInfo as StepInfo
from huaweicloudsdkcore.auth.credentials import BasicCredentials

from bridge.model import Case, Priority

PATH = (
    "Mobile banking app and wallet",
    "Payments, transfers and standing orders",
    "International SWIFT transfers with FX",
)
JOBS = [
    {"name": "ca-tr", "left": "ca", "right": "tr"},
    {"name": "tr-tp", "left": "tr", "right": "tp"},
]


def sdk(w: World) -> tuple[CloudtestClient, str, str]:
    creds = w.sims["ca"].credentials()
    client = (
        CloudtestClient.new_builder()
        .with_credentials(BasicCredentials(creds["ak"], creds["sk"], creds["project_id"]))
        .with_endpoints([w.urls["ca"]])
        .build()
    )
    return client, creds["project_id"], w.sims["ca"].library.master_uri  # type: ignore[attr-defined]


def sdk_case(w: World, name: str, feature: str, **fields: object) -> str:
    client, pid, branch = sdk(w)
    info = CaseInfo(name=name, feature_uri=feature, project_uuid=pid, **fields)
    return str(
        client.create_version_test_case(CreateVersionTestCaseRequest(version_id=branch, body=info)).result.value.uri
    )


def sync_all(w: World) -> None:
    for job in ("ca-tr", "tr-tp", "ca-tr"):
        report = w.sync(job)
        assert report.status == "ok", report.errors


def by_title(w: World, system: str) -> dict[str, Case]:
    with w.adapter(system) as a:
        return {c.title: c for c in a.iter_cases()}


def test_a_case_made_with_the_sdk_in_deep_directories_reaches_both_and_edits_come_back(tmp_path: Path) -> None:
    with world(tmp_path, names=("ca", "tr", "tp"), jobs=JOBS) as w:
        client, pid, branch = sdk(w)
        parent = branch
        for name in PATH:
            body = AddTestItemInfo(name=name, is_feature="2", parent_uri=parent, version_uri=branch, project_uuid=pid)
            parent = str(client.add_feature(AddFeatureRequest(body=body)).result.value.uri)
        uri = sdk_case(
            w,
            "SWIFT transfer above the daily limit asks for an OTP",
            parent,
            rank=1,
            preparation="A customer with a funded EUR account",
            steps=[
                StepInfo(test_step="Send 10,001 EUR to a US account", expect_result="An OTP is requested"),
                StepInfo(test_step="Enter the OTP", expect_result="The transfer is scheduled"),
            ],
        )
        sync_all(w)
        for system in ("tr", "tp"):
            case = by_title(w, system)["SWIFT transfer above the daily limit asks for an OTP"]
            assert case.folder == PATH, system
            assert [s.action for s in case.steps] == ["Send 10,001 EUR to a US account", "Enter the OTP"]
            assert case.priority == Priority.HIGH and case.preconditions == "A customer with a funded EUR account"

        # an edit in TestPlanIt comes back to CodeArts (through TestRail) ...
        with w.adapter("tp") as a:
            tp_case = by_title(w, "tp")["SWIFT transfer above the daily limit asks for an OTP"]
            a.update_case(
                tp_case.id, tp_case.model_copy(update={"title": "SWIFT transfer over the limit asks for an OTP"})
            )
        for job in ("tr-tp", "ca-tr"):
            assert w.sync(job).status == "ok"
        library = w.sims["ca"].library  # type: ignore[attr-defined]
        assert library.cases[uri]["name"] == "SWIFT transfer over the limit asks for an OTP"
        # ... and an edit in CodeArts reaches TestPlanIt
        info = CaseInfo(
            name=library.cases[uri]["name"],
            preparation="A customer with a funded EUR account and a US payee",
            version_uri=branch,
            project_uuid=pid,
        )
        client.update_version_test_case(UpdateVersionTestCaseRequest(case_id=uri, body=info))
        sync_all(w)
        got = by_title(w, "tp")["SWIFT transfer over the limit asks for an OTP"]
        assert got.preconditions == "A customer with a funded EUR account and a US payee"
        assert got.folder == PATH and len(got.steps) == 2  # what the edit did not touch is kept
        assert not [c for c in w.store.conflicts() if c.field == "folder"]


def test_a_case_removed_from_a_plan_on_one_side_leaves_it_on_the_other(tmp_path: Path) -> None:
    with world(tmp_path, names=("ca", "tr"), jobs=JOBS[:1]) as w:
        client, pid, branch = sdk(w)
        body = AddTestItemInfo(name="Regression suite", is_feature="2", parent_uri=branch, version_uri=branch)
        folder = str(client.add_feature(AddFeatureRequest(body=body)).result.value.uri)
        uris = [sdk_case(w, f"Plan member number {i}", folder, rank=2) for i in range(3)]
        it = client.create_test_iterator(
            CreateTestIteratorRequest(
                branch_uri=branch,
                body=IteratorVersionInfo(name="Sprint 42", plan_start_date="2024-07-01", project_uuid=pid),
            )
        ).result.value.uri
        client.add_resource_to_iterator(
            AddResourceToIteratorRequest(
                iterator_uri=it,
                body=AddResourceInfo(simple_resourceinfo_list=[SimpleResourceInfo(resource_id=u) for u in uris]),
            )
        )
        assert w.sync().status == "ok"
        tr_plan_id = w.store.find_link("ca-tr", "plan", left_id=it).right_id

        def tr_members() -> set[str]:
            with w.adapter("tr") as a:
                plan = a.get_plan(tr_plan_id)
                assert plan is not None
                return {w.store.find_link("ca-tr", "case", right_id=c).left_id for c in plan.case_ids()}

        assert tr_members() == set(uris)
        # removed in CodeArts: leaves the TestRail plan
        client.batch_remove_test_cases_from_iterator(
            BatchRemoveTestCasesFromIteratorRequest(
                iterator_id=it, body=CaseRemoveInfo(case_list=[CaseIdAndTypeInfo(id=uris[0])])
            )
        )
        assert w.sync().status == "ok"
        assert tr_members() == set(uris[1:])
        # removed in TestRail: leaves the CodeArts iteration (a v4 call the v1 plan API does not have)
        with w.adapter("tr") as a:
            plan = a.get_plan(tr_plan_id)
            gone = w.store.find_link("ca-tr", "case", left_id=uris[1]).right_id
            runs = [r.model_copy(update={"case_ids": [c for c in r.case_ids if c != gone]}) for r in plan.runs]
            a.update_plan(tr_plan_id, plan.model_copy(update={"runs": runs}))
        report = w.sync()
        assert report.status == "ok" and w.store.conflicts(job="ca-tr") == []
        assert w.sims["ca"].library.iterators[it]["case_uris"] == [uris[2]]  # type: ignore[attr-defined]


def test_a_store_linking_custom_service_cases_keeps_that_mode_until_told(tmp_path: Path) -> None:
    jobs = [{"name": "job", "left": "tr", "right": "ca"}]
    with world(tmp_path, names=("tr", "ca"), jobs=jobs, settings={"ca": {"mode": "custom-service"}}) as w:
        with w.adapter("tr") as a:
            from bridge.model import Step

            for i in range(3):
                a.create_case(Case(title=f"Kept case {i}", folder=("Auth",), steps=[Step(action="go")]), marker=f"k{i}")
        assert w.sync().status == "ok"
        custom = set(w.sims["ca"].cases)  # type: ignore[attr-defined]
        library = set(w.sims["ca"].library.cases)  # type: ignore[attr-defined]
        # an older config: no mode. The links point at custom-service cases, so that mode stays
        w.settings = {}
        report = w.sync()
        assert report.status == "ok" and report.total("created") == 0 and report.total("deleted") == 0
        assert set(w.sims["ca"].cases) == custom and set(w.sims["ca"].library.cases) == library  # type: ignore[attr-defined]
        # told to switch on purpose: the links name no native case, and the mass-deletion guard stops the job
        w.settings = {"ca": {"mode": "native"}}
        switched = w.sync(plan_first=False)
        assert switched.status == "aborted" and "vanished" in switched.errors[0]
        assert set(w.sims["ca"].library.cases) == library
