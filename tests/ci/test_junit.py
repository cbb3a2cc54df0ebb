"""JUnit parsing: the dialects CI tools write, one status per test, clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.ci.junit import JUnitError, outcome_counts, parse_bytes, parse_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


def test_pytest_report_outcomes_properties_and_output() -> None:
    tests = parse_file(FIXTURES / "pytest.xml")
    assert [t.label() for t in tests][:2] == [
        "tests.test_login.test_login_ok",
        "tests.test_login.test_login_wrong_password",
    ]
    assert outcome_counts(tests) == {"passed": 2, "skipped": 1, "failure": 1, "error": 1}
    assert tests[0].properties == {"test_id": "C1"}
    assert tests[1].system_out == "request sent" and "assert resp.status == 401" in tests[1].details
    assert tests[3].message.startswith("failed on setup")
    assert tests[1].seconds == pytest.approx(0.12)


def test_surefire_flaky_rerun_counts_as_passed_and_suite_properties_stay_out() -> None:
    tests = {t.name: t for t in parse_file(FIXTURES / "surefire.xml")}
    assert tests["flakyCheckout"].outcome == "passed"
    assert tests["removesItem"].outcome == "failure" and "CartTest.java:31" in tests["removesItem"].details
    assert tests["discounts"].outcome == "skipped"
    # surefire puts JVM properties on the suite; they must not make every test look like case C999
    assert all("test_id" not in t.properties for t in tests.values())


def test_junit5_and_jest_dialects() -> None:
    j5 = parse_file(FIXTURES / "junit5.xml")
    assert [t.outcome for t in j5] == ["passed", "passed", "error"]
    assert j5[2].system_out.startswith("unique-id:")
    jest = parse_file(FIXTURES / "jest.xml")
    assert [t.outcome for t in jest] == ["passed", "failure", "skipped"]
    assert "Expected: 1" in jest[1].details  # jest-junit puts the failure text in the element body


def test_nested_suites_keep_their_path_and_text_properties() -> None:
    tests = {t.name: t for t in parse_file(FIXTURES / "nested.xml")}
    assert tests["grant"].suites == ("api", "v1", "admin")
    assert tests["grant"].properties == {"case_id": "7"}
    assert tests["grant"].timestamp == "2024-05-01T10:00:00"  # inherited from the enclosing suite
    assert tests["ping"].suites == ("api",)


def test_malformed_xml_names_file_and_line() -> None:
    with pytest.raises(JUnitError) as exc:
        parse_file(FIXTURES / "malformed.xml")
    assert exc.value.exit_code == 2
    assert str(exc.value).startswith(f"{FIXTURES / 'malformed.xml'}:6:")


def test_not_junit_and_missing_file() -> None:
    with pytest.raises(JUnitError, match=r"x\.xml:1: not a JUnit report: the root element is <html>"):
        parse_bytes(b"<html><body/></html>", source="x.xml")
    with pytest.raises(JUnitError, match="file not found"):
        parse_file(FIXTURES / "nope.xml")
