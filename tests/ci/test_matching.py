"""Matching JUnit tests to cases: the naming styles real tools write, ids that belong to one system only,
links, automation keys, ambiguity."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.ci.ids import default_scheme, pattern_error, schemes_for
from bridge.ci.junit import JUnitTest, parse_file
from bridge.ci.matching import BY_ID, BY_KEY, BY_LINK, MatchOptions, automation_key, key_format_error, match_tests
from bridge.model import Case

STYLES = Path(__file__).resolve().parent.parent / "fixtures" / "junit" / "styles"
FIXTURES = STYLES.parent

#: (fixture, test name as the tool writes it, the TestRail case it names or None)
NAMING_STYLES: list[tuple[str, str, str | None]] = [
    ("pytest.xml", "test_C31_token", "31"),  # pytest function name
    ("pytest.xml", "test_login[C32-admin]", "32"),  # pytest parametrized id
    ("pytest.xml", "test_login[C33-guest]", "33"),
    ("pytest.xml", "test_logout", "34"),  # record_property("test_id", "C34"), as trcli reads it
    ("pytest.xml", "test_rfc3339_parsing", None),  # RFC3339 is no case id
    ("gradle-junit5.xml", "C35: rejects an expired token", "35"),  # JUnit 5 @DisplayName through Gradle
    ("gradle-junit5.xml", "[1] C36, admin", "36"),  # JUnit 5 @ParameterizedTest invocation
    ("gradle-junit5.xml", "parses 0xC0FFEE as a token id", None),  # a hex literal is no case id
    ("surefire.xml", "testC37RefreshToken", "37"),  # JUnit 4 camelCase method through Surefire
    ("surefire.xml", "C38_revokesToken", "38"),
    ("jest-junit.xml", "auth logs out C39", "39"),  # jest-junit's "{classname} {title}"
    ("cypress-mocha.xml", "checkout [C40] pays by card", "40"),  # mocha-junit-reporter's full title
    ("go-junit-report.xml", "TestCart", None),
    ("go-junit-report.xml", "TestCart/C41_adds_item", "41"),  # go test subtest (spaces become _)
    ("dotnet-junit-logger.xml", "C42_AppliesCoupon", "42"),  # NUnit method via JunitXml.TestLogger
    ("dotnet-junit-logger.xml", "[C43] removes an item", "43"),  # xUnit [Fact(DisplayName = ...)]
    ("phpunit.xml", "testC44Checkout", "44"),  # PHPUnit method
    ("phpunit.xml", 'testCoupon with data set "C45"', "45"),  # PHPUnit named data set
    ("robot-xunit.xml", "C46 Valid Login", "46"),  # Robot Framework --xunit
    ("playwright.xml", "checkout › C47 pays with card @smoke", "47"),  # Playwright title path
    ("playwright.xml", "checkout › pays with a voucher", "48"),  # Playwright annotation as property
    ("cucumber-jvm.xml", "C49 Pay with a saved card", "49"),  # Cucumber scenario name
]


def _style_tests() -> list[JUnitTest]:
    files = sorted({f for f, _, _ in NAMING_STYLES})
    return [t for f in files for t in parse_file(STYLES / f)]


def test_every_fixture_test_is_in_the_table() -> None:
    assert sorted(t.name for t in _style_tests()) == sorted(n for _, n, _ in NAMING_STYLES)


def test_naming_styles_on_a_testrail_target() -> None:
    cases = [Case(id=str(n), title=f"case {n}") for n in range(1, 60)]
    schemes = schemes_for({"tr": "testrail"}, {})
    out = match_tests(_style_tests(), cases, target="tr", schemes=schemes)
    got: dict[str, str | None] = {t.name: None for t in _style_tests()}
    for m in out.matched:
        assert m.method == BY_ID
        got[m.test.name] = m.case_id
    assert got == {name: case for _, name, case in NAMING_STYLES}
    assert out.ambiguous == {}


def test_naming_styles_on_another_target_go_through_the_links_only() -> None:
    """The same tests pushed to TestPlanIt: every TestRail id reaches the linked case, never the TestPlanIt case
    that happens to carry the same number."""
    tpi_cases = [Case(id=str(n), title=f"unrelated {n}") for n in range(1, 60)]
    tpi_cases += [Case(id=str(1000 + n), title=f"copy of C{n}") for n in range(31, 50)]
    links = {"tr": {str(n): {str(1000 + n)} for n in range(31, 50) if n != 41}}  # C41 not linked (yet)
    schemes = schemes_for({"tr": "testrail", "tpi": "testplanit"}, {})
    out = match_tests(_style_tests(), tpi_cases, target="tpi", schemes=schemes, links=links)
    got = {m.test.name: m.case_id for m in out.matched}
    expected = {name: str(1000 + int(case)) for _, name, case in NAMING_STYLES if case and case != "41"}
    assert got == expected
    assert {m.method for m in out.matched} == {BY_LINK}
    why = {u.test.name: u for u in out.unmatched}
    assert "linked to no case of tpi" in why["TestCart/C41_adds_item"].reason
    assert not why["TestCart/C41_adds_item"].creatable  # it names a TestRail case: a new one would duplicate it
    assert why["TestCart"].creatable and why["test_rfc3339_parsing"].creatable


def test_an_id_of_a_system_nobody_links_stays_unmatched() -> None:
    """Without any TestRail system in the config a C31 is still a TestRail id: unmatched, never case 31."""
    tests = parse_file(STYLES / "pytest.xml")
    out = match_tests(
        tests, [Case(id="31", title="unrelated")], target="tpi", schemes=schemes_for({"tpi": "testplanit"}, {})
    )
    assert out.matched == []
    first = next(u for u in out.unmatched if u.test.name == "test_C31_token")
    assert "no sync job links testrail and tpi" in first.reason and not first.creatable


def test_same_characters_read_by_two_systems_are_ambiguous() -> None:
    """Two TestRail systems with the default pattern: C5 could be either's; different cases are not guessed."""
    test = JUnitTest(file="x.xml", suites=("s",), classname="t", name="test_C5_x", outcome="passed")
    schemes = schemes_for({"tr": "testrail", "tr2": "testrail"}, {})
    cases = [Case(id="5", title="five"), Case(id="77", title="tr2's five")]
    out = match_tests([test], cases, target="tr", schemes=schemes, links={"tr2": {"5": {"77"}}})
    assert out.matched == [] and out.ambiguous == {"t.test_C5_x": ["5", "77"]}
    assert "[ci.case_ids.SYSTEM]" in out.unmatched[0].reason
    # given a pattern of its own, tr2's ids are told apart
    schemes = schemes_for({"tr": "testrail", "tr2": "testrail"}, {"tr2": ([r"(?<![A-Za-z0-9])T2-(\d+)"], [])})
    out = match_tests([test], cases, target="tr", schemes=schemes, links={"tr2": {"5": {"77"}}})
    assert [(m.case_id, m.method) for m in out.matched] == [("5", BY_ID)]


def test_a_test_naming_two_cases_reports_on_both() -> None:
    test = JUnitTest(file="x.xml", suites=(), classname="t", name="test_C3_C4_shared_setup", outcome="passed")
    cases = [Case(id="3", title="a"), Case(id="4", title="b")]
    out = match_tests([test], cases, target="tr", schemes=schemes_for({"tr": "testrail"}, {}))
    assert sorted(m.case_id for m in out.matched) == ["3", "4"]


def test_automation_keys_links_and_ambiguous_keys() -> None:
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
    tests[1].properties["codearts_case_id"] = "9f1c"  # a CodeArts case id, linked by a sync job
    schemes = schemes_for({"tr": "testrail", "ca": "codearts"}, {})
    out = match_tests(tests, cases, target="tr", schemes=schemes, links={"ca": {"9f1c": {"70"}}})
    got = {m.test.label(): (m.case_id, m.method) for m in out.matched}
    assert got == {
        "tests.test_login.test_login_ok": ("1", BY_ID),
        "tests.test_login.test_login_wrong_password": ("70", BY_LINK),
        "tests.test_login.test_login_locked[C3]": ("3", BY_ID),
        "tests.test_cart.test_remove_item": ("50", BY_KEY),
        "com.example.ParserTest.[1] input=a, C42": ("42", BY_ID),
    }
    assert out.ambiguous == {"com.example.ParserTest.parses()": ["60", "61"]}
    reasons = {u.test.label(): u for u in out.unmatched}
    assert set(reasons) == {
        "tests.test_cart.test_add_item",
        "com.example.ParserTest.parses()",
        "com.example.ParserTest.rejectsNull()",
    }
    assert not reasons["com.example.ParserTest.parses()"].creatable  # a new case would be a third duplicate
    assert reasons["tests.test_cart.test_add_item"].creatable
    # only automation keys, in another format
    only_keys = match_tests(
        tests, cases, target="tr", schemes=schemes, options=MatchOptions(by_reference=False, key_format="{name}")
    )
    assert only_keys.matched == []
    assert automation_key(tests[0], "{suite}/{name}") == "pytest/test_login_ok"


def test_an_id_that_does_not_exist_on_the_target_falls_back_to_the_key_but_is_never_created() -> None:
    tests = [
        JUnitTest(file="x", suites=(), classname="a.B", name="test_C900_gone", outcome="passed"),
        JUnitTest(file="x", suites=(), classname="a.B", name="test_C901_keyed", outcome="passed"),
    ]
    cases = [Case(id="5", title="keyed", automation_key="a.B.test_C901_keyed")]
    out = match_tests(tests, cases, target="tr", schemes=schemes_for({"tr": "testrail"}, {}))
    assert [(m.test.name, m.case_id, m.method) for m in out.matched] == [("test_C901_keyed", "5", BY_KEY)]
    gone = out.unmatched[0]
    assert "names case 900 of tr, which does not exist there" in gone.reason and not gone.creatable


def test_properties_take_lists_and_prefixes() -> None:
    test = JUnitTest(
        file="x", suites=(), classname="a", name="b", outcome="passed", properties={"test_id": "C7, 8;C0009"}
    )
    cases = [Case(id=str(n), title="x") for n in (7, 8, 9)]
    out = match_tests([test], cases, target="tr", schemes=[default_scheme("tr", "testrail")])
    assert sorted(m.case_id for m in out.matched) == ["7", "8", "9"]


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [("C(\\d+", "not a valid regular expression"), ("(C)(\\d+)", "one group"), ("C?(\\d*)", "empty name")],
)
def test_bad_patterns_are_explained(pattern: str, problem: str) -> None:
    assert problem in (pattern_error(pattern) or "")


def test_bad_key_formats_are_explained() -> None:
    assert "unknown placeholder" in (key_format_error("{classname}.{method}") or "")
    assert key_format_error("{suite}/{name}") is None
