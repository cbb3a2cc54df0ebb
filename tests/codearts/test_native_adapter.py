"""The native case library adapter against the simulator, through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.codearts.native_adapter import CodeArtsNativeAdapter
from adapters.codearts.settings import CodeArtsSettings
from adapters.codearts.simulator import CodeArtsSimulator
from adapters.registry import create_adapter
from bridge.errors import CannotRepresent, NotFound
from bridge.model import Case, CaseType, Plan, PlanRun, Priority, Result, Status, Step

PATH = ("Mobile banking app and wallet", "Payments, transfers and standing orders", "SWIFT transfers with FX")


@pytest.fixture
def sim() -> CodeArtsSimulator:
    return CodeArtsSimulator(seed=5)


@pytest.fixture
def native(sim: CodeArtsSimulator) -> Iterator[CodeArtsNativeAdapter]:
    with sim.serve() as server:
        settings = CodeArtsSettings(url=server.url, max_retries=2, **sim.credentials())
        adapter = create_adapter("ca", settings)
        assert isinstance(adapter, CodeArtsNativeAdapter)  # native is the default
        adapter.connect()
        yield adapter
        adapter.close()


def test_reads_the_seeded_library_with_deep_folders_and_custom_fields(native, sim):
    cases = list(native.iter_cases())
    assert len(cases) == len(sim.library.cases)
    deep = [c for c in cases if len(c.folder) >= 3]
    assert deep and all(len("/".join(c.folder)) > 25 for c in deep)
    assert any(c.custom.get("Component") for c in cases)
    assert {c.type for c in cases} >= {CaseType.FUNCTIONAL, CaseType.PERFORMANCE}
    assert all(c.marker is None for c in cases)  # nothing the bridge made
    folders = {f.path for f in native.iter_folders()}
    assert all(c.folder in folders for c in cases if c.folder)


def test_create_is_one_request_and_reads_back_everything(native, sim):
    case = Case(
        folder=PATH,
        title="Transfer above the daily limit asks for an OTP",
        description="From the refinement",
        preconditions="Two funded accounts",
        steps=[Step(action="Send 10,001 EUR", expected="An OTP is requested")],
        priority=Priority.HIGH,
        type=CaseType.REGRESSION,
        tags=["payments", "otp"],
        requirements=["654321"],
        custom={"Component": "Android", "owner": "li.wei"},
    )
    log = sim.log
    native.ensure_folder(PATH)
    before = len(log)
    stored = native.create_case(case, marker="m-1")
    assert len(log) - before == 1
    assert stored.marker == "m-1" and stored.content() == case.content()
    native_case = sim.library.cases[stored.id]
    assert native_case["compare_number"] == "tpb-m-1" and native_case["name"] == case.title  # name untouched
    assert sim.library.feature_path(native_case["feature_uri"]) == list(PATH)
    assert native.get_case(stored.id).content() == case.content()
    assert native.find_case_by_marker("m-1").id == stored.id

    edited = case.model_copy(update={"title": "Transfer above the limit asks for an OTP", "steps": []})
    again = native.update_case(stored.id, edited)
    assert again.content() == edited.content() and again.marker == "m-1"
    native.delete_case(stored.id)
    assert native.get_case(stored.id) is None


def test_incremental_read_fetches_only_changed_details(native, sim):
    # the engine's read mark is the newest change time it has seen
    newest = max(c["last_modified"] for c in sim.library.cases.values())
    mark = datetime.fromtimestamp(newest / 1000, UTC)
    changed = next(iter(sim.library.cases.values()))
    sim.library.put_case({"name": "Changed in the web UI"}, changed["version_uri"], uri=changed["uri"])
    sim.log.clear()
    got = list(native.iter_cases(since=mark))
    assert [c.id for c in got] == [changed["uri"]]
    assert sim.log.count(contains="/testcases/batch-query") == 1 and sim.log.count("GET", "/v4/testcases/") == 1


def test_plans_rename_dates_and_removal_and_results(native, sim):
    ids = sorted(c.id for c in native.iter_cases())[:3]
    plan = Plan(name="Sprint 41", runs=[PlanRun(name="Sprint 41", case_ids=ids)])
    made = native.create_plan(plan, marker="p-1")
    it = sim.library.iterators[made.id]
    assert it["name"] == "Sprint 41" and it["number"] == "tpb-p-1" and it["case_uris"] == ids
    renamed = plan.model_copy(
        update={
            "name": "Sprint 41 hotfix",
            "start_date": datetime(2024, 6, 3).date(),
            "runs": [PlanRun(name="x", case_ids=ids[1:])],
        }
    )
    after = native.update_plan(made.id, renamed)
    assert after.case_ids() == set(ids[1:]) and it["case_uris"] == ids[1:]
    assert (it["name"], it["plan_start_date"]) == ("Sprint 41 hotfix", "2024-06-03")
    assert native.find_plan_by_marker("p-1").name == "Sprint 41 hotfix"

    result = Result(case_id=ids[1], plan_id=made.id, run_id=made.id, status=Status.FAILED, marker="r1")
    native.add_results([result])
    native.add_results([result])  # a repeat is taken as done, not stored twice
    assert len(sim.library.results[(made.id, ids[1])]) == 1
    read = list(native.iter_results(plan_id=made.id))
    assert [(r.case_id, r.status) for r in read] == [(ids[1], Status.FAILED)]


def test_refuses_what_it_cannot_hold(native):
    case = Case(title="ok title", requirements=["1", "2"], custom={"No such field": "x"})
    with pytest.raises(CannotRepresent) as refused:
        native.create_case(case, marker="m")
    assert {p.field for p in refused.value.problems} == {"requirements", "custom"}


def test_branch_and_test_types_limit_the_scope(sim):
    with sim.serve() as server:
        creds = sim.credentials()
        scoped = create_adapter("ca", CodeArtsSettings(url=server.url, test_types=["1", "6", "7"], **creds))
        scoped.connect()
        kinds = {c.type for c in scoped.iter_cases()}
        assert kinds and CaseType.PERFORMANCE not in kinds and CaseType.OTHER not in kinds  # load and API tests
        scoped.close()
        other = create_adapter("ca", CodeArtsSettings(url=server.url, branch="release-2.4", **creds))
        other.connect()
        assert list(other.iter_cases()) == []  # nothing written on that branch yet
        other.close()
        missing = create_adapter("ca", CodeArtsSettings(url=server.url, branch="no-such-branch", **creds))
        with pytest.raises(NotFound, match="release-2.4"):  # the error lists the branches there are
            missing.connect()


def test_plan_journals_tell_which_plans_to_read(native, sim):
    from adapters.base import PlanUnchanged

    ids = sorted(c.id for c in native.iter_cases())[:3]
    made = native.create_plan(Plan(name="Sprint 44", runs=[PlanRun(name="Sprint 44", case_ids=ids)]), marker="p-4")
    journal = sim.library.iterators[made.id]["journals"]
    # made, then cases added: two entries, the second naming the cases
    assert [e["detail"][0]["type"] for e in journal] == ["attribute", "resource"]
    assert [a["id"] for a in journal[1]["detail"][0]["added"]] == ids
    full = {p.id: p for p in native.iter_plans_since(None, ())}
    assert full[made.id].case_ids() == set(ids) and full[made.id].updated_at is not None
    since = max(p.updated_at for p in full.values())
    again = {p.id: p for p in native.iter_plans_since(since, {made.id})}
    assert again[made.id] == PlanUnchanged(made.id, "Sprint 44", "p-4", full[made.id].updated_at)
    # an entry later than the mark: read again
    journal.append({**journal[-1], "operate_time": "2999-01-01 00:00:00"})
    assert isinstance(next(p for p in native.iter_plans_since(since, {made.id}) if p.id == made.id), Plan)
    # a bare date (as in the vendor's example) cannot tell a later change the same day: read
    journal[-1] = {**journal[-1], "operate_time": "2024-07-10"}
    assert isinstance(next(p for p in native.iter_plans_since(since, {made.id}) if p.id == made.id), Plan)
