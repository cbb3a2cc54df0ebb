"""Template case fields through the adapter and the simulator: the project's template, values as the UI
stores them, the checks the server does not make, and writes that cost one request."""

from __future__ import annotations

import json

import pytest
from tpi_helpers import make_adapter

from adapters.simulation import LoopbackServer
from adapters.testplanit.adapter import TestPlanItAdapter
from adapters.testplanit.simulator import TestPlanItSimulator
from bridge.errors import CannotRepresent, ConfigError
from bridge.http import counting
from bridge.model import Case, CaseType, Priority, Step


def requests_made(delta: dict) -> int:  # type: ignore[type-arg]
    return sum(n for k, n in delta.items() if k.system == "testplanit")


FULL = Case(
    title="Refund a card payment",
    folder=("Payments", "Refunds"),
    description="Refunds **the whole** amount.\n\nSecond paragraph.",
    preconditions="A paid order",
    priority=Priority.HIGH,
    type=CaseType.REGRESSION,
    steps=[Step(action="Refund", expected="Money back")],
    custom={"component": "Billing", "platforms": ["Web", "iOS"], "expected": "A refund mail"},
)


def values_of(sim: TestPlanItSimulator, case_id: str | None) -> dict[str, object]:
    names = {v: k for k, v in sim.field_ids.items()}
    rows = [r for r in sim.rows("caseFieldValues") if r["testCaseId"] == int(case_id or 0)]
    return {names[r["fieldId"]]: r["value"] for r in rows}


def test_the_project_template_holds_the_four_fields(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    assert adapter.templates.chosen_id == sim.template_id  # the global default, assigned to the project
    held = adapter.capabilities.case_fields or frozenset()
    assert {"description", "preconditions", "priority", "type", "custom"} <= held
    assert type(adapter).capabilities.case_fields is not None
    assert "description" not in type(adapter).capabilities.case_fields  # per instance, not per class


def test_create_with_every_value_in_one_request(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    adapter.ensure_folder(FULL.folder)
    with counting() as delta:
        stored = adapter.create_case(FULL, marker="f-1")
    assert requests_made(delta()) == 1  # the case, its steps, tags and field values in one nested create
    assert stored.content() == FULL.content()
    assert adapter.get_case(stored.id or "") == stored
    values = values_of(sim, stored.id)
    # as the UI stores them: Text Long as the editor's JSON string, dropdowns by option id
    assert json.loads(str(values["description"]))["type"] == "doc"
    assert values["priority"] == sim.option_ids[("priority", "High")]
    assert values["type"] == sim.option_ids[("type", "Regression")]
    assert values["platforms"] == [sim.option_ids[("platforms", "Web")], sim.option_ids[("platforms", "iOS")]]
    assert values["component"] == "Billing"


def test_update_writes_only_changed_values_by_row_id(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    stored = adapter.create_case(FULL.model_copy(update={"custom": {}}), marker="f-2")
    rows_before = {r["fieldId"]: r["id"] for r in sim.rows("caseFieldValues") if r["testCaseId"] == int(stored.id or 0)}
    edited = stored.model_copy(update={"priority": Priority.LOW, "custom": {"component": "Auth"}})
    sim.log.clear()
    with counting() as delta:
        updated = adapter.update_case(stored.id or "", edited)
    assert requests_made(delta()) == 2  # read the case, one update carrying the value writes
    assert updated.priority == Priority.LOW and updated.custom == {"component": "Auth"}
    rows_after = {r["fieldId"]: r["id"] for r in sim.rows("caseFieldValues") if r["testCaseId"] == int(stored.id or 0)}
    assert {f: rows_after[f] for f in rows_before} == rows_before  # the same rows, updated in place
    assert set(rows_after) - set(rows_before) == {sim.field_ids["component"]}  # the missing one created
    # no change, no value write
    again = adapter.update_case(stored.id or "", updated)
    assert again == updated
    assert len([r for r in sim.rows("caseFieldValues") if r["testCaseId"] == int(stored.id or 0)]) == len(rows_after)


def test_clearing_a_value_stores_null_in_its_row(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    stored = adapter.create_case(FULL, marker="f-3")
    cleared = adapter.update_case(stored.id or "", stored.model_copy(update={"preconditions": "", "type": None}))
    assert cleared.preconditions == "" and cleared.type is None
    values = values_of(sim, stored.id)
    assert values["preconditions"] is None and values["type"] is None


def test_cases_made_in_the_ui_are_read_with_their_fields(adapter: TestPlanItAdapter) -> None:
    cases = list(adapter.iter_cases())
    assert all(c.description.startswith("Checks that") for c in cases)
    assert {c.priority for c in cases} <= set(Priority) and all(c.priority for c in cases)
    assert {c.type for c in cases} <= {CaseType.FUNCTIONAL, CaseType.REGRESSION, CaseType.AUTOMATED}
    assert any(c.preconditions == "A signed-in user" for c in cases)
    assert any(c.custom.get("component") for c in cases)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"custom": {"platforms": ["Linux"]}}, "custom.platforms"),
        ({"custom": {"unknown_field": "x"}}, "custom.unknown_field"),
        ({"priority": Priority.LOWEST}, "priority"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_before_writing(
    adapter: TestPlanItAdapter, sim: TestPlanItSimulator, change: dict[str, object], field: str
) -> None:
    case = FULL.model_copy(update={"title": "Does not fit", **change})
    problems = adapter.check_case(case)
    assert [(p.record, p.field) for p in problems] == [("Does not fit", field)]
    with pytest.raises(CannotRepresent):
        adapter.create_case(case, marker="bad")
    assert not any(r["name"] == "Does not fit" for r in sim.rows("repositoryCases"))


def test_a_required_field_without_a_value_is_refused_and_a_default_is_used(sim: TestPlanItSimulator) -> None:
    for row in sim.db.tables["caseFields"].values():
        if row["systemName"] in ("component", "priority"):
            sim.db.patch("caseFields", row, {"isRequired": True})
    with sim.serve() as server, make_adapter(sim, server) as adapter:
        problems = adapter.check_case(Case(title="No component"))
        assert [p.field for p in problems] == ["custom.component"]
        stored = adapter.create_case(Case(title="Has one", custom={"component": "Auth"}), marker="req")
        assert stored.priority == Priority.MEDIUM  # the Priority dropdown's default, as the UI's form fills it


def test_a_field_named_in_the_config_holds_the_value(sim: TestPlanItSimulator) -> None:
    with sim.serve() as server:
        with make_adapter(sim, server, case_fields={"preconditions": "Expected"}) as adapter:
            stored = adapter.create_case(Case(title="Mapped", preconditions="Logged in"), marker="map")
            assert stored.preconditions == "Logged in"
        assert values_of(sim, stored.id).keys() == {"expected"}
        with pytest.raises(ConfigError, match="case_fields.type = 'Kind'.*no such field"):
            make_adapter(sim, server, case_fields={"type": "Kind"}).connect()


def test_template_is_chosen_among_those_assigned(sim: TestPlanItSimulator) -> None:
    with sim.serve() as server:
        with make_adapter(sim, server, template="Exploratory") as adapter:
            held = adapter.capabilities.case_fields or frozenset()
            assert "description" in held and not {"preconditions", "priority", "type"} & held
            stored = adapter.create_case(Case(title="Explore", description="Look around"), marker="ex")
        assert next(r for r in sim.rows("repositoryCases") if r["id"] == int(stored.id or 0))["templateId"] == 2
        sim.db.insert("templates", {"templateName": "Elsewhere", "isEnabled": True, "isDefault": False})
        assigned = "'Elsewhere' is not a template assigned.*'Default Template', 'Exploratory'"
        with pytest.raises(ConfigError, match=assigned):
            make_adapter(sim, server, template="Elsewhere").connect()


def test_runs_complete_in_the_projects_done_state(adapter: TestPlanItAdapter, sim: TestPlanItSimulator) -> None:
    from bridge.model import Plan, PlanState

    created = adapter.create_plan(Plan(name="Sprint run"), marker="run-1")
    states = {r["id"]: (r["name"], r["workflowType"]) for r in sim.rows("workflows")}
    state_of = lambda: states[next(r for r in sim.rows("testRuns") if r["id"] == int(created.id or 0))["stateId"]]  # noqa: E731
    assert state_of() == ("New", "NOT_STARTED")
    adapter.update_plan(created.id or "", created.model_copy(update={"state": PlanState.COMPLETED}))
    assert state_of() == ("Done", "DONE")
    adapter.update_plan(created.id or "", created.model_copy(update={"state": PlanState.ACTIVE}))
    assert state_of() == ("New", "NOT_STARTED")


def test_an_option_the_value_map_does_not_know_is_not_erased(
    adapter: TestPlanItAdapter, sim: TestPlanItSimulator, server: LoopbackServer
) -> None:
    """Priority "Urgent" (no normalized value) reads as None; writing other fields keeps it."""
    field = sim.field_ids["priority"]
    urgent = sim.db.insert("fieldOptions", {"name": "Urgent", "order": 0})
    sim.db.insert("caseFieldAssignment", {"fieldOptionId": urgent["id"], "caseFieldId": field})
    stored = adapter.create_case(Case(title="Hot", priority=Priority.HIGH), marker="u")
    row = next(r for r in sim.db.tables["caseFieldValues"].values() if r["testCaseId"] == int(stored.id or 0))
    sim.db.patch("caseFieldValues", row, {"value": urgent["id"]})  # set in the UI
    with make_adapter(sim, server) as fresh:
        read = fresh.get_case(stored.id or "")
        assert read is not None and read.priority is None
        fresh.update_case(stored.id or "", read.model_copy(update={"title": "Hot (renamed)"}))
    assert row["value"] == urgent["id"]
