"""JUnit XML -> a flat list of :class:`JUnitTest`, whatever tool wrote the file.

Parsing is junitparser's (a maintained library that knows the dialects: pytest, JUnit 5/surefire, Jest-junit,
nested ``<testsuite>`` elements, properties, ``skipped``/``error``/``failure``, ``system-out``). We only add
what it leaves to the caller:

- the XML is read with the standard library first, so a malformed file is reported with its path, line and
  column (:class:`JUnitError`, exit code 2) before anything is sent anywhere;
- nested suites are walked explicitly so every test keeps its suite path (junitparser's own iteration
  flattens them);
- one status per test: ``error`` > ``failure`` > ``skipped`` > ``passed`` (a test can carry several
  result elements, e.g. surefire's flaky reruns or a pytest teardown error).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Properties, Skipped, TestCase, TestSuite

from bridge.errors import BridgeError

#: outcomes, worst last: when several apply to one test the worst wins
OUTCOME_ORDER = ("passed", "skipped", "failure", "error")


class JUnitError(BridgeError):
    """A JUnit file that cannot be read or is not JUnit XML. Exit code 2: nothing was posted."""

    exit_code = 2


@dataclass
class JUnitTest:
    """One ``<testcase>`` with what matching and result posting need."""

    file: str
    suites: tuple[str, ...]
    classname: str
    name: str
    outcome: str  # one of OUTCOME_ORDER
    seconds: float | None = None
    message: str = ""
    details: str = ""
    system_out: str = ""
    system_err: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    timestamp: str | None = None  # of the innermost suite, when the tool writes one

    @property
    def suite(self) -> str:
        return self.suites[-1] if self.suites else ""

    def label(self) -> str:
        """How the test is named in summaries and reports."""
        return (
            f"{self.classname}.{self.name}"
            if self.classname
            else (f"{self.suite}.{self.name}" if self.suite else self.name)
        )


def parse_files(paths: Sequence[str | Path]) -> list[JUnitTest]:
    """Every test of every file, in file order; raises JUnitError on the first unreadable file."""
    tests: list[JUnitTest] = []
    for path in paths:
        tests.extend(parse_file(path))
    return tests


def parse_file(path: str | Path) -> list[JUnitTest]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise JUnitError(f"{path}: file not found", hint="Pass --junit with the path of a JUnit XML report.") from None
    except OSError as exc:
        raise JUnitError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_bytes(data, source=str(path))


def parse_bytes(data: bytes | str, *, source: str = "<junit>") -> list[JUnitTest]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise JUnitError(
            f"{source}:{line}:{column + 1}: not well-formed XML ({reason})",
            hint="Nothing was posted. Check that the test run finished writing the report.",
        ) from None
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(
            f"{source}:1: not a JUnit report: the root element is <{root.tag}>, expected <testsuites> or <testsuite>",
            hint="Nothing was posted.",
        )
    try:
        xml = JUnitXml.fromroot(root)  # type: ignore[arg-type]  # junitparser takes any ElementTree element
    except JUnitXmlError as exc:  # pragma: no cover - the root tag is checked above
        raise JUnitError(f"{source}: {exc}") from None
    tests: list[JUnitTest] = []
    for suite in xml:
        _walk(suite, (), None, source, tests)
    return tests


def _walk(suite: TestSuite, parents: tuple[str, ...], timestamp: str | None, source: str, out: list[JUnitTest]) -> None:
    path = parents + ((suite.name or "").strip(),) if (suite.name or "").strip() else parents
    stamp = suite.timestamp or timestamp
    # suite-level properties are not copied to the tests: surefire writes every JVM system property there
    for case in suite.iterchildren(TestCase):
        out.append(_test(case, path, stamp, source))
    for child in suite.testsuites():
        _walk(child, path, stamp, source, out)


def _properties(element: TestSuite | TestCase) -> dict[str, str]:
    props: dict[str, str] = {}
    for group in element.iterchildren(Properties):
        for prop in group:
            if prop.name:
                # a property can carry its value as text (Jenkins style) instead of value=""
                value = prop.value if prop.value is not None else (prop._elem.text or "")
                props[prop.name] = value.strip()
    return props


def _test(case: TestCase, suites: tuple[str, ...], stamp: str | None, source: str) -> JUnitTest:
    outcome = "passed"
    messages: list[str] = []
    details: list[str] = []
    for result in case.result:
        kind = "error" if isinstance(result, Error) else "failure" if isinstance(result, Failure) else "skipped"
        if not isinstance(result, (Error, Failure, Skipped)):  # pragma: no cover - junitparser types only
            continue
        if OUTCOME_ORDER.index(kind) > OUTCOME_ORDER.index(outcome):
            outcome = kind
        if result.message:
            messages.append(result.message.strip())
        if result.text and result.text.strip():
            details.append(result.text.strip())
    time = case.time
    return JUnitTest(
        file=source,
        suites=suites,
        classname=(case.classname or "").strip(),
        name=(case.name or "").strip(),
        outcome=outcome,
        seconds=float(time) if time is not None and time >= 0 else None,
        message="\n".join(messages),
        details="\n\n".join(details),
        system_out=(case.system_out or "").strip(),
        system_err=(case.system_err or "").strip(),
        properties=_properties(case),
        timestamp=stamp,
    )


def outcome_counts(tests: Iterable[JUnitTest]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOME_ORDER, 0)
    for test in tests:
        counts[test.outcome] += 1
    return counts
