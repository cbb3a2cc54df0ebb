"""Pure conversion: no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import vcr

from adapters.registry import create_adapter
from adapters.testrail import convert
from adapters.testrail.adapter import TestRailAdapter
from adapters.testrail.settings import TestRailSettings
from adapters.testrail.timespan import format_timespan, parse_timespan
from bridge.model import PlanRun, PlanState
from mappings.valuemaps import load_value_maps

FIXTURES = Path(__file__).parent.parent / "fixtures" / "testrail"


@pytest.mark.parametrize(
    "text",
    ["plain words", "a < b & c", "**bold** and `code`", "- one\n- two", "1. first\n2. second", "line\nbreak\n\npara"],
)
def test_text_written_reads_back_the_same(text: str) -> None:
    written = convert.write_text(text)
    assert written is not None
    assert convert.read_text(written) == text


def test_plain_text_stays_plain() -> None:
    assert convert.write_text("Open the page") == "Open the page"
    assert convert.write_text("") is None


def test_automation_id_as_trcli_matches_it() -> None:
    assert convert.read_automation_id("<p>tests.a.B.test_x&amp;y</p>") == "tests.a.B.test_x&y"
    assert convert.read_automation_id(None) is None


@pytest.mark.parametrize(("text", "seconds"), [("1m 5s", 65), ("65s", 65), ("2h", 7200), ("1d", 86400), ("30", 30)])
def test_timespans(text: str, seconds: int) -> None:
    assert parse_timespan(text) == seconds


def test_timespan_normal_form_and_errors() -> None:
    assert format_timespan(3725) == "1h 2m 5s"
    assert format_timespan(0) is None
    with pytest.raises(ValueError):
        parse_timespan("soon")


def test_plan_marker_line_is_not_content() -> None:
    written = convert.plan_description("Nightly **run**", "m-123")
    assert written is not None and written.endswith("[tpb:m-123]")
    assert convert.split_plan_description(written) == ("Nightly **run**", "m-123")
    assert convert.split_plan_description(None) == ("", None)
    assert convert.plan_description("", "m") == "[tpb:m]"


def test_section_paths_from_root() -> None:
    sections = [
        {"id": 3, "name": "Child", "parent_id": 1},
        {"id": 1, "name": "Root", "parent_id": None},
        {"id": 4, "name": "Grandchild", "parent_id": 3},
    ]
    assert convert.section_paths(sections)[4] == ("Root", "Child", "Grandchild")


def test_entries_group_configured_runs_by_name() -> None:
    runs = [
        PlanRun(name="Smoke", case_ids=["2", "1"]),
        PlanRun(name="Matrix", configuration=["Chrome", "Linux"], case_ids=["1"]),
        PlanRun(name="Matrix", configuration=["Firefox", "Linux"], case_ids=["2"]),
    ]
    entries = convert.entries_for(runs, suite_id=9, config_ids={"Chrome": 1, "Firefox": 2, "Linux": 5})
    assert entries[0] == {"suite_id": 9, "name": "Smoke", "include_all": False, "case_ids": [1, 2]}
    assert entries[1]["config_ids"] == [1, 2, 5] and len(entries[1]["runs"]) == 2


def test_unknown_priority_is_none_not_guessed() -> None:
    maps = load_value_maps("testrail")
    raw = {"id": 5, "title": "T", "section_id": 1, "priority_id": 99, "type_id": 11, "custom_steps_separated": None}
    case = convert.case_from_native(raw, ("A",), maps)
    assert case.priority is None and case.type is not None and case.type.value == "smoke"


def test_vendor_get_plan_example_parses_via_cassette() -> None:
    """The vendor document's get_plan example, replayed from a cassette through the adapter's get_plan."""
    settings = TestRailSettings(
        url="https://example.testrail.io", user="qa@example.com", api_key="cassette-key", project="Datahub", suite_id=4
    )
    # matched by the whole url, not in the cassette's order: the adapter sends some reads at once, and vcrpy's
    # default query matcher sees TestRail's route (``?/api/v2/get_plan/80``, no "=") as an empty query
    cassette = str(FIXTURES / "get_plan_example.yaml")
    with vcr.use_cassette(cassette, record_mode="none", match_on=["method", "uri"]):
        adapter = create_adapter("tr", settings)
        assert isinstance(adapter, TestRailAdapter)
        with adapter:
            plan = adapter.get_plan("80")
    assert plan is not None
    assert plan.id == "80" and plan.name == "System test" and plan.description == "" and plan.marker is None
    assert plan.milestone == "Version 1.0" and plan.state is PlanState.ACTIVE
    assert plan.created_at == datetime.fromtimestamp(1393845644, UTC)
    assert plan.runs == [
        PlanRun(
            id="81", name="File Formats", configuration=["Firefox", "Ubuntu 12"], case_ids=[str(i) for i in range(1, 9)]
        )
    ]
