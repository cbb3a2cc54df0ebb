"""JUnit parsing: the dialects CI tools write, one status per test, clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.ci.junit import JUnitError, outcome_counts, parse_bytes, parse_file
from bridge.ci.matching import MatchOptions, automation_key, match_tests
from bridge.model import Case

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


def test_matching_order_ids_links_keys_and_ambiguity() -> None:
    tests = parse_file(FIXTURES / "pytest.xml") + parse_file(FIXTURES / "junit5.xml")
    cases = [
        Case(id="1", title="login ok"),
        Case(id="3", title="locked"),
        Case(id="42", title="param"),
        Case(id="50", title="remove", automation_key="tests.test_cart.test_remove_item"),
        Case(id="60", title="dup a", automation_key="com.example.ParserTest.parses()"),
        Case(id="61", title="dup b", automation_key="com.example.ParserTest.parses()"),
        Case(id="70", title="linked"),
    ]
    links = {"abc": "70"}
    tests[1].properties["case_id"] = "abc"  # a case id of another system, linked by a sync job
    out = match_tests(tests, cases, links=links)
    got = {m.test.label(): (m.case_id, m.method) for m in out.matched}
    assert got == {
        "tests.test_login.test_login_ok": ("1", "case id"),
        "tests.test_login.test_login_wrong_password": ("70", "bridge link"),
        "tests.test_login.test_login_locked[C3]": ("3", "case id"),
        "tests.test_cart.test_remove_item": ("50", "automation key"),
        "com.example.ParserTest.[1] input=a, C42": ("42", "case id"),
    }
    assert out.ambiguous == {"com.example.ParserTest.parses()": ["60", "61"]}
    assert {t.label() for t in out.unmatched} == {
        "tests.test_cart.test_add_item",
        "com.example.ParserTest.parses()",
        "com.example.ParserTest.rejectsNull()",
    }
    # configurable: only automation keys, in a different format
    only_keys = match_tests(tests, cases, options=MatchOptions(by_id=False, by_link=False, key_format="{name}"))
    assert only_keys.matched == []
    assert automation_key(tests[0], "{suite}/{name}") == "pytest/test_login_ok"
