"""What ``conflicts resolve --take`` decides for each kind of entry, and what it refuses (pure: no store)."""

from __future__ import annotations

import pytest

from bridge.errors import ConfigError, Unrepresentable
from bridge.model import Case
from bridge.sync.fieldpath import PathError, get_path, root, set_path
from bridge.sync.resolutions import decide
from mappings.tables import Conflict, utcnow

NAMES = {"left": "tp", "right": "ca"}


def entry(kind: str, **extra: object) -> Conflict:
    return Conflict(id=7, job="job", entity="case", kind=kind, record="r", **extra)  # type: ignore[arg-type]


def unfit_folder() -> Conflict:
    attempt = Case(title="Deep", folder=("Checkout", "Search details")).model_dump(mode="json")
    return entry("cannot-represent", field="folder", side="right", attempt=attempt, left_value="dir:...")


def short_labels(side: str, record: object) -> list[Unrepresentable]:
    assert isinstance(record, Case)
    label = "dir:" + "/".join(record.folder)
    return [Unrepresentable("case", "x", "folder", f"{label!r} is too long")] if len(label) > 25 else []


def test_edit_values_are_the_sides_or_a_valid_value_of_the_field() -> None:
    edit = entry("edit", field="folder", left_value=["A"], right_value=["B"])
    assert decide(edit, "right", NAMES).value == ["B"]
    assert decide(edit, "value=Checkout/Search", NAMES).value == ["Checkout", "Search"]
    with pytest.raises(ConfigError, match="no folder path"):
        decide(edit, 'value={"a": 1}', NAMES)
    with pytest.raises(ConfigError, match="expected left, right or value="):
        decide(edit, "both", NAMES)


def test_cannot_represent_accepts_the_loss_or_a_value_the_side_can_hold() -> None:
    accepted = decide(unfit_folder(), "left", NAMES, short_labels)
    assert (accepted.resolution, accepted.applied) == ("accepted", True)
    with pytest.raises(ConfigError, match="take left to accept that loss"):
        decide(unfit_folder(), "right", NAMES, short_labels)
    with pytest.raises(ConfigError, match="no folder path"):
        decide(unfit_folder(), "value=42", NAMES, short_labels)
    with pytest.raises(ConfigError, match="cannot hold that value either: 'dir:Checkout/Search details/x'"):
        decide(unfit_folder(), "value=Checkout/Search details/x", NAMES, short_labels)
    given = decide(unfit_folder(), "value=Checkout", NAMES, short_labels)
    assert (given.resolution, given.value, given.applied) == ("value", ["Checkout"], True)
    legacy = entry("cannot-represent", field="tags")  # logged before schema 4: no side, no record
    with pytest.raises(ConfigError, match="older release"):
        decide(legacy, "left", NAMES)


def test_ambiguous_duplicate_and_decided_entries() -> None:
    twins = entry("ambiguous-match", left_value=["1", "2"], right_value=["9"])
    assert decide(twins, 'value={"left": "2", "right": "9"}', NAMES).value == {"left": "2", "right": "9"}
    with pytest.raises(ConfigError, match="name the two records to link"):
        decide(twins, 'value={"left": "3", "right": "9"}', NAMES)
    dup = entry("duplicate")
    assert decide(dup, "value=keep", NAMES).resolution == "keep"
    with pytest.raises(ConfigError, match="delete one of the copies"):
        decide(dup, "left", NAMES)
    done = entry("deleted", resolution="policy:unlink", resolved_at=utcnow())
    with pytest.raises(ConfigError, match="resolved already"):
        decide(done, "left", NAMES)


def test_field_paths() -> None:
    data = {"steps": [{"action": "a"}, {"action": "b"}], "folder": ["X"]}
    assert root("steps[2].action") == "steps" and get_path(data, "steps[2].action") == "b"
    assert set_path(data, "steps[2].action", "c")["steps"][1] == {"action": "c"} and data["steps"][1]["action"] == "b"
    with pytest.raises(PathError):
        get_path(data, "steps[3].action")
