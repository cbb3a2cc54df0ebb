"""Value maps: defaults per kind, overrides that win, a reverse direction that writes the system's spelling."""

from __future__ import annotations

import pytest

from adapters.registry import KINDS
from bridge.errors import ConfigError
from bridge.model import CaseType, Priority, Status
from mappings.valuemaps import VOCABULARIES, default_table, load_value_maps


@pytest.mark.parametrize("kind", [*KINDS, "junit"])
def test_defaults_load_and_map_into_the_vocabularies(kind: str) -> None:
    maps = load_value_maps(kind)
    for name, vm in maps.maps.items():
        assert set(vm.to_normal.values()) <= VOCABULARIES.get(name, set(vm.to_normal.values()))
        for normal in set(vm.to_normal.values()):
            native = vm.native(normal)
            assert native is not None and vm.normal(native) == normal, (kind, name, normal)


def test_every_syncable_kind_maps_statuses() -> None:
    for kind in ("codearts", "testrail", "testplanit"):
        assert default_table(kind)["status"], kind


def test_lookups_ignore_case_and_type_but_writes_keep_the_spelling() -> None:
    maps = load_value_maps("testplanit", {"priority": {"Nice to Have": "lowest"}})
    assert maps.normal("priority", "NICE TO HAVE") == Priority.LOWEST
    assert maps.native("priority", "lowest") == "Nice to Have"
    testrail = load_value_maps("testrail")
    assert testrail.normal("status", 5) == testrail.normal("status", "5") == Status.FAILED
    assert testrail.normal("status", 99) is None  # not guessed


def test_overrides_apply_in_order_and_to_native_decides_the_reverse() -> None:
    maps = load_value_maps("testrail", {"status": {"6": "skipped"}}, {"status": {"6": "retest"}})
    assert maps.normal("status", 6) == Status.RETEST
    assert maps.native("status", "retest") == "4"  # the default entry comes first
    maps = load_value_maps("testrail", {"status": {"6": "retest", "to_native": {"retest": "6"}}})
    assert maps.native("status", "retest") == "6"
    assert maps.native("type", CaseType.OTHER) == "7" and maps.native("priority", "lowest") == "1"
    assert maps.native("status", None) is None and maps.native("status", "in_progress") is None


def test_a_value_outside_the_vocabulary_is_an_error_naming_where() -> None:
    with pytest.raises(ConfigError, match=r"here: value map status\.6 = 'green' is not a normalized status"):
        load_value_maps("testrail", {"status": {"6": "green"}}, source="here")
    with pytest.raises(ConfigError, match=r"here: value map 'status' must be a table"):
        load_value_maps("testrail", {"status": "passed"}, source="here")  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match=r"value map priority = 'urgent'"):
        load_value_maps("testrail", {"priority": {"to_native": {"urgent": "4"}}})
