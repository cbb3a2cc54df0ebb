"""Case ids that a JUnit test names, and which system each belongs to. Pure: no I/O.

A ``C123`` in a test name is a TestRail case id, whatever system the results are pushed to: read as the id
of a TestPlanIt or CodeArts case it would name an unrelated case. So every way of writing an id (a
pattern in the test name, a ``<property>`` of the test) belongs to one system, an :class:`IdScheme`.
Defaults exist per kind (:data:`DEFAULT_PATTERNS`, :data:`DEFAULT_PROPERTIES`); the config
(``[ci.case_ids.<system>]``) and the CLI (for the target) replace them per system.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.ci.junit import JUnitTest


#: TestRail ids as the test tools write them (the forms trcli reads, plus camelCase method names):
#: a ``C`` and digits standing as a word (``C31: ...``, ``[C31]``, ``test_C31_token``, ``TestX/C31_y``,
#: ``test_login[C31-admin]``), or right after a ``test`` method prefix (``testC31Token``, ``TestC31Login``).
#: Only a capital C: ``c1`` is too often part of ordinary words and identifiers.
TESTRAIL_WORD = r"(?<![A-Za-z0-9])C(\d+)(?![A-Za-z0-9])"
TESTRAIL_CAMEL = r"(?<![A-Za-z0-9])[Tt]est_?C(\d+)(?![a-z0-9])"

DEFAULT_PATTERNS: dict[str, tuple[str, ...]] = {
    "testrail": (TESTRAIL_WORD, TESTRAIL_CAMEL),
    # neither system has a convention for ids in test names; a bare number would match anything
    "testplanit": (),
    "codearts": (),
}
DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    # test_id is what trcli reads (pytest: record_property("test_id", "C31")); the others are common spellings
    "testrail": ("test_id", "testrail_case_id", "testrail_id", "case_id", "test_case_id"),
    "testplanit": ("testplanit_case_id", "testplanit_id"),
    # testcase_id is CodeArts' own name for a case id
    "codearts": ("codearts_case_id", "testcase_id"),
}


@dataclass(frozen=True)
class IdScheme:
    """How the case ids of one system are written in tests.

    ``system`` is a configured system name, or a kind when the config has no system of that kind (its ids
    are still recognized, so they are never taken for another system's).
    """

    system: str
    kind: str
    patterns: tuple[str, ...]
    properties: tuple[str, ...]

    def compiled(self) -> tuple[re.Pattern[str], ...]:
        return _compile(self.patterns)


@dataclass(frozen=True)
class Reference:
    """One case id a test names. ``token`` says where and how, for people (``'C31' in the name``,
    ``property test_id=C31``); ``where`` identifies the characters, so that two schemes finding the same
    characters found one reference (which then must not resolve to two different cases)."""

    system: str
    case_id: str
    token: str
    where: tuple[str, int, int]


def default_scheme(system: str, kind: str) -> IdScheme:
    return IdScheme(system, kind, DEFAULT_PATTERNS.get(kind, ()), DEFAULT_PROPERTIES.get(kind, ()))


def schemes_for(
    systems: Mapping[str, str], overrides: Mapping[str, tuple[Sequence[str] | None, Sequence[str] | None]]
) -> list[IdScheme]:
    """One scheme per syncable system (``systems``: name -> kind), and one per kind none of them has.

    ``overrides``: system name -> (patterns, properties); None keeps the kind's default.
    """
    schemes: list[IdScheme] = []
    for name, kind in systems.items():
        default = default_scheme(name, kind)
        patterns, properties = overrides.get(name, (None, None))
        schemes.append(
            IdScheme(
                name,
                kind,
                tuple(patterns) if patterns is not None else default.patterns,
                tuple(properties) if properties is not None else default.properties,
            )
        )
    for kind in DEFAULT_PATTERNS:
        if kind not in systems.values():
            schemes.append(default_scheme(kind, kind))
    return schemes


def references(test: JUnitTest, scheme: IdScheme) -> Iterator[Reference]:
    """The ids of ``scheme``'s system that ``test`` names: its properties first, then its name."""
    patterns = scheme.compiled()
    for prop in scheme.properties:
        value = test.properties.get(prop)
        if not value:
            continue
        for i, part in enumerate(p for p in re.split(r"[,;\s]+", value) if p):
            case_id = _normal(_strip_prefix(part, patterns))
            yield Reference(scheme.system, case_id, f"property {prop}={part}", ("property " + prop, i, i))
    for pattern in patterns:
        for m in pattern.finditer(test.name):
            group = 1 if m.groups() else 0
            where = ("name", m.start(group), m.end(group))
            yield Reference(scheme.system, _normal(m.group(group)), f"{m.group(0)!r} in the name", where)


def _strip_prefix(value: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """``C31`` in a property means case 31, as in a name."""
    for pattern in patterns:
        m = pattern.fullmatch(value)
        if m and m.groups():
            return m.group(1)
    return value


def _normal(case_id: str) -> str:
    """Ids as the adapters write them: ``C0031`` and ``31`` are one TestRail case."""
    return str(int(case_id)) if case_id.isdigit() else case_id


_CACHE: dict[tuple[str, ...], tuple[re.Pattern[str], ...]] = {}


def _compile(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    found = _CACHE.get(patterns)
    if found is None:
        found = _CACHE[patterns] = tuple(re.compile(p) for p in patterns)
    return found


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a case-id pattern, or None."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    if compiled.groups > 1:
        return "use one group (the id) at most; write other groups as (?:...)"
    if compiled.search(""):
        return "the pattern matches an empty name; it must match the id itself"
    return None
