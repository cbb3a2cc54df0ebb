"""Which case on the target does each JUnit test report on? Pure: no I/O.

Tried in this order, the first hit wins (the explicit kinds before the derived one):

1. **case id** named by the test: a property (``test_id`` as trcli writes it, ``case_id``, ...) or a pattern
   in the test name (``C123``), when that id exists on the target;
2. **bridge link**: the same id is a case on another system that a sync job links to a target case
   (so a test tagged with a CodeArts case id reports on the linked TestRail case);
3. **automation key** ``classname.name`` (format configurable) equal to the case's automation key.

A test whose key matches several target cases is reported as ambiguous and not guessed at.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bridge.ci.junit import JUnitTest
from bridge.model import Case
from bridge.text import normalize_whitespace

DEFAULT_ID_PATTERNS = (r"(?<![A-Za-z0-9_])C(\d+)(?![0-9])",)
DEFAULT_ID_PROPERTIES = ("test_id", "case_id", "testrail_case_id", "test_case_id", "testcase_id")
DEFAULT_KEY_FORMAT = "{classname}.{name}"


@dataclass(frozen=True)
class MatchOptions:
    id_patterns: tuple[str, ...] = DEFAULT_ID_PATTERNS
    id_properties: tuple[str, ...] = DEFAULT_ID_PROPERTIES
    key_format: str = DEFAULT_KEY_FORMAT
    by_id: bool = True
    by_link: bool = True
    by_key: bool = True

    def compiled(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.id_patterns]


@dataclass
class Match:
    test: JUnitTest
    case_id: str
    method: str  # "case id" | "bridge link" | "automation key" | "created"


@dataclass
class MatchOutcome:
    matched: list[Match] = field(default_factory=list)
    unmatched: list[JUnitTest] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # test label -> candidate case ids


def automation_key(test: JUnitTest, key_format: str = DEFAULT_KEY_FORMAT) -> str:
    """The key a test is known by; a test without classname (apptest.ai devices) uses its suite name."""
    classname = test.classname or test.suite
    key = key_format.format(classname=classname, name=test.name, suite=test.suite, file=test.file)
    return normalize_whitespace(key.strip(".")) or test.name


def referenced_ids(test: JUnitTest, options: MatchOptions, patterns: Sequence[re.Pattern[str]]) -> list[str]:
    """Case ids the test names itself (properties first, then the name), in order, without duplicates."""
    found: list[str] = []
    for prop in options.id_properties:
        value = test.properties.get(prop)
        if value:
            for part in re.split(r"[,\s]+", value):
                if part:
                    found.append(_strip_c(part, patterns))
    for pattern in patterns:
        for m in pattern.finditer(test.name):
            found.append(m.group(1) if m.groups() else m.group(0))
    return list(dict.fromkeys(found))


def _strip_c(value: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """``C123`` in a property means case 123, as in names."""
    for pattern in patterns:
        m = pattern.fullmatch(value)
        if m and m.groups():
            return m.group(1)
    return value


def match_tests(
    tests: Sequence[JUnitTest],
    cases: Iterable[Case],
    *,
    options: MatchOptions | None = None,
    links: Mapping[str, str] | None = None,
) -> MatchOutcome:
    """Match each test to a target case. ``links`` maps case ids on other systems to target case ids."""
    options = options or MatchOptions()
    patterns = options.compiled()
    by_id: dict[str, str] = {}
    by_key: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        if case.id is None:
            continue
        by_id[case.id] = case.id
        if case.automation_key:
            by_key[_key_norm(case.automation_key)].append(case.id)
    links = links or {}
    outcome = MatchOutcome()
    for test in tests:
        hit: Match | None = None
        refs = referenced_ids(test, options, patterns) if (options.by_id or options.by_link) else []
        if options.by_id:
            hit = next((Match(test, by_id[r], "case id") for r in refs if r in by_id), None)
        if hit is None and options.by_link:
            hit = next((Match(test, links[r], "bridge link") for r in refs if links.get(r) in by_id), None)
        if hit is None and options.by_key:
            candidates = by_key.get(_key_norm(automation_key(test, options.key_format)), [])
            if len(candidates) == 1:
                hit = Match(test, candidates[0], "automation key")
            elif len(candidates) > 1:
                outcome.ambiguous[test.label()] = sorted(candidates)
        if hit is not None:
            outcome.matched.append(hit)
        else:
            outcome.unmatched.append(test)
    return outcome


def _key_norm(key: str) -> str:
    return normalize_whitespace(key)
