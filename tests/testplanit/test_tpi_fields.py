"""Template case fields <-> normalized values: pure conversion and the checks the UI's form makes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.testplanit import fields
from adapters.testplanit.fields import FieldDef, FieldMap, Option, Template
from bridge.errors import ConfigError
from bridge.model import Case, CaseType, Priority
from mappings.valuemaps import load_value_maps

MAPS = load_value_maps("testplanit")
PRIORITY = FieldDef(
    2,
    "Priority",
    "priority",
    fields.DROPDOWN,
    options=tuple(Option(i, n, i, n == "Medium", True) for i, n in enumerate(["Critical", "High", "Medium", "Low"], 1)),
)
PLATFORMS = FieldDef(
    8,
    "Platforms",
    "platforms",
    fields.MULTI_SELECT,
    options=(
        Option(15, "Web", 0, False, True),
        Option(16, "iOS", 1, False, True),
        Option(17, "Android", 2, False, False),
    ),
)
POINTS = FieldDef(9, "Story points", "story_points", fields.INTEGER, min_value=0, max_value=100)


def kind(name: str, **extra: Any) -> FieldDef:
    return FieldDef(50, name, name.lower(), name, **extra)


@pytest.mark.parametrize(
    ("field", "value", "native"),
    [
        (kind(fields.TEXT_LONG), "Checks **the** form", None),
        (kind(fields.TEXT_STRING), "Auth", "Auth"),
        (kind(fields.LINK), "https://example.com/spec/42", "https://example.com/spec/42"),
        (PRIORITY, "High", 2),
        (PLATFORMS, ["iOS", "Web"], [15, 16]),  # in the field's option order
        (POINTS, 5, 5),
        (kind(fields.NUMBER), 2.5, 2.5),
        (kind(fields.CHECKBOX), True, True),
        (kind(fields.DATE), "2026-12-24", "2026-12-24T00:00:00.000Z"),
    ],
)
def test_each_kind_is_written_as_the_ui_writes_it_and_read_back(field: FieldDef, value: Any, native: Any) -> None:
    stored, why = fields.native_value(field, value)
    assert why is None
    if field.kind == fields.TEXT_LONG:
        assert isinstance(stored, str) and json.loads(stored)["type"] == "doc"  # the editor's JSON *string*
    else:
        assert stored == native
    back = fields.value_from_native(field, stored)
    assert back == (sorted(value, key=["Web", "iOS"].index) if isinstance(value, list) else value)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        (PRIORITY, "Urgent", "no option 'Urgent' (options: Critical, High, Medium, Low)"),
        (PLATFORMS, ["Android"], "no option 'Android'"),  # disabled: the UI does not offer it
        (POINTS, "abc", "takes a number"),
        (POINTS, 2.5, "whole number"),
        (POINTS, 101, "above the field's maximum 100"),
        (POINTS, -1, "below the field's minimum 0"),
        (POINTS, True, "takes a number"),
        (kind(fields.CHECKBOX), "yes", "true or false"),
        (kind(fields.LINK), "not a url", "not a link"),
        (kind(fields.DATE), "24.12.2026", "not a date"),
        (kind(fields.TEXT_STRING), 3, "takes text"),
    ],
)
def test_values_that_do_not_fit_are_refused(field: FieldDef, value: Any, why: str) -> None:
    stored, problem = fields.native_value(field, value)
    assert stored is None and problem is not None and why in problem


def test_option_names_match_in_any_case_and_empty_values_clear() -> None:
    assert fields.native_value(PRIORITY, "high") == (2, None)
    assert fields.native_value(PRIORITY, "") == (None, None)
    assert fields.native_value(PLATFORMS, []) == (None, None)


def test_dates_at_other_times_keep_their_time() -> None:
    stored, _ = fields.native_value(kind(fields.DATE), "2026-12-24T10:30:00+02:00")
    assert stored == "2026-12-24T08:30:00.000Z"
    assert fields.value_from_native(kind(fields.DATE), stored) == "2026-12-24T08:30:00.000Z"


TEMPLATE = Template(
    1,
    "Default Template",
    True,
    (
        FieldDef(1, "Description", "description", fields.TEXT_LONG),
        PRIORITY,
        FieldDef(5, "Pre-conditions", "pre_conditions", fields.TEXT_LONG),
        FieldDef(7, "Component", "component", fields.TEXT_STRING, required=True),
        PLATFORMS,
        POINTS,
    ),
)


def test_standard_fields_by_name_and_by_override() -> None:
    plain = FieldMap.build(TEMPLATE)
    assert set(plain.standard) == {"description", "priority"}  # no field named preconditions or type
    assert set(plain.custom) == {"pre_conditions", "component", "platforms", "story_points"}
    mapped = FieldMap.build(TEMPLATE, {"preconditions": "PRE-CONDITIONS", "type": "component"})
    assert mapped.standard["preconditions"].id == 5 and mapped.standard["type"].id == 7
    assert "pre_conditions" not in mapped.custom


@pytest.mark.parametrize(
    ("override", "message"),
    [({"type": "Kind"}, "has no such field"), ({"priority": "Story points"}, "is a Integer field")],
)
def test_an_override_naming_no_usable_field_is_a_config_error(override: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FieldMap.build(TEMPLATE, override, source="systems.tpi.")


def test_case_values_read_from_rows_first_row_per_field() -> None:
    fmap = FieldMap.build(TEMPLATE, {"type": "component"})
    rows = [
        {"id": 9, "fieldId": 2, "value": 1},  # a second row for Priority: the UI reads the first
        {"id": 3, "fieldId": 2, "value": 4},
        {"id": 4, "fieldId": 7, "value": "Smoke"},
        {"id": 5, "fieldId": 8, "value": [16, 15]},
        {"id": 6, "fieldId": 1, "value": json.dumps({"type": "doc", "content": [{"type": "paragraph"}]})},
        {"id": 7, "fieldId": 99, "value": "not in the template"},
    ]
    values = fields.read_case_values(fmap, rows, MAPS)
    assert values == {
        "priority": Priority.LOW,
        "type": CaseType.SMOKE,
        "description": "",
        "custom": {"platforms": ["Web", "iOS"]},
    }


def test_wanted_values_name_the_case_and_field_of_each_problem() -> None:
    fmap = FieldMap.build(TEMPLATE)
    case = Case(
        title="t",
        priority=Priority.LOWEST,  # no TestPlanIt option in the value map
        custom={"story_points": 500, "platforms": ["Web"], "nope": "x"},
    )
    values, problems = fields.wanted_values(fmap, case, MAPS, "tr:7")
    assert values[8] == [15]
    assert {(p.record, p.field) for p in problems} == {
        ("tr:7", "priority"),
        ("tr:7", "custom.story_points"),
        ("tr:7", "custom.nope"),
    }
    defaults, missing = fields.missing_required(fmap, values, "tr:7")
    assert defaults == {} and [(p.field, p.reason) for p in missing] == [
        ("custom.component", "template 'Default Template' requires 'Component' and it has no default")
    ]
    # a value the case holds already keeps a required field filled when it is not written
    assert fields.missing_required(fmap, values, "tr:7", stored={7: "Auth"})[1] == []


def test_required_fields_get_the_forms_defaults() -> None:
    required = FieldDef(2, "Priority", "priority", fields.DROPDOWN, required=True, options=PRIORITY.options)
    fmap = FieldMap.build(Template(1, "T", True, (required,)))
    assert fields.missing_required(fmap, {2: None}, "c") == ({2: 3}, [])  # Medium is the default option
