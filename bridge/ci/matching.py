"""Which case on the target does each JUnit test report on? Pure: no I/O.

1. **Case ids the test names** (:mod:`bridge.ci.ids`): every id belongs to one system. An id of another
   system resolves through the bridge's links (a sync job linking that system to the target) to the linked
   case; an id of the target itself is that case. An id nothing resolves is never read as an id of
   another system: ``C32`` pushed to TestPlanIt is TestRail case 32's linked case or nothing, never
   TestPlanIt case 32.
2. **Automation key** ``classname.name`` (format configurable) equal to the case's automation key, for
   tests that name no id, or whose ids resolved to nothing.

A test can name several cases (``test_C31_C32``): it reports on each. Where the same characters are an id of
two systems that resolve to different cases (two TestRail systems with the same pattern), or a key matches
several cases, the test is ambiguous and not guessed at. A test that names an id is never a candidate for
``--create-missing-cases``: the case it names exists somewhere, and a new one would be its duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.ci.ids import IdScheme, Reference, references
from bridge.model import Case
from bridge.text import normalize_whitespace

if TYPE_CHECKING:
    from bridge.ci.junit import JUnitTest

DEFAULT_KEY_FORMAT = "{classname}.{name}"
KEY_FIELDS = ("classname", "name", "suite", "file")

#: method names, as the summary and report show them
BY_LINK, BY_ID, BY_KEY, CREATED = "bridge link", "case id", "automation key", "created"


@dataclass(frozen=True)
class MatchOptions:
    key_format: str = DEFAULT_KEY_FORMAT
    by_reference: bool = True
    by_key: bool = True


@dataclass
class Match:
    test: JUnitTest
    case_id: str
    method: str  # BY_LINK | BY_ID | BY_KEY | CREATED
    via: str = ""  # the reference or key that decided it


@dataclass
class Unmatched:
    test: JUnitTest
    reason: str
    #: names no id and matches no case ambiguously: --create-missing-cases may create a case for it
    creatable: bool = False


@dataclass
class MatchOutcome:
    matched: list[Match] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # test label -> candidate case ids


#: other system -> its case id -> the target case ids a sync job links it to. A system is a key when a job
#: links it to the target, even if nothing is linked yet.
Links = Mapping[str, Mapping[str, AbstractSet[str]]]


def automation_key(test: JUnitTest, key_format: str = DEFAULT_KEY_FORMAT) -> str:
    """The key a test is known by; a test without classname (apptest.ai devices) uses its suite name."""
    classname = test.classname or test.suite
    key = key_format.format(classname=classname, name=test.name, suite=test.suite, file=test.file)
    return normalize_whitespace(key.strip(".")) or test.name


def key_format_error(key_format: str) -> str | None:
    """Why ``key_format`` cannot format an automation key, or None."""
    try:
        key_format.format(**dict.fromkeys(KEY_FIELDS, ""))
    except (KeyError, IndexError) as exc:
        return f"unknown placeholder {exc}; use {', '.join('{' + f + '}' for f in KEY_FIELDS)}"
    except ValueError as exc:
        return f"not a valid format: {exc}"
    return None


def match_tests(
    tests: Sequence[JUnitTest],
    cases: Iterable[Case],
    *,
    target: str,
    schemes: Sequence[IdScheme] = (),
    links: Links | None = None,
    options: MatchOptions | None = None,
) -> MatchOutcome:
    """Match each test to cases of ``target`` (a configured system name)."""
    options = options or MatchOptions()
    links = links or {}
    case_ids: set[str] = set()
    by_key: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        if case.id is None:
            continue
        case_ids.add(case.id)
        if case.automation_key:
            by_key[normalize_whitespace(case.automation_key)].append(case.id)
    outcome = MatchOutcome()
    for test in tests:
        refs = [r for s in schemes for r in references(test, s)] if options.by_reference else []
        resolved, ambiguous, reasons = _resolve_all(refs, target, case_ids, links)
        if ambiguous:
            outcome.ambiguous[test.label()] = sorted(ambiguous)
            outcome.unmatched.append(Unmatched(test, f"{'; '.join(reasons)}: not guessed"))
            continue
        if resolved:
            outcome.matched += [Match(test, cid, method, via) for cid, (method, via) in resolved.items()]
            continue
        key = automation_key(test, options.key_format)
        candidates = sorted(set(by_key.get(normalize_whitespace(key), []))) if options.by_key else []
        if len(candidates) == 1:
            outcome.matched.append(Match(test, candidates[0], BY_KEY, key))
        elif len(candidates) > 1:
            outcome.ambiguous[test.label()] = candidates
            outcome.unmatched.append(Unmatched(test, f"automation key {key!r} matches cases {', '.join(candidates)}"))
        elif refs:
            outcome.unmatched.append(Unmatched(test, "; ".join(reasons)))
        else:
            outcome.unmatched.append(Unmatched(test, f"names no case id; no case has automation key {key!r}", True))
    return outcome


def _resolve_all(
    refs: Sequence[Reference], target: str, case_ids: AbstractSet[str], links: Links
) -> tuple[dict[str, tuple[str, str]], set[str], list[str]]:
    """(case id -> (method, token)) for what resolved, the candidates of an ambiguous reference, and reasons
    for what did not resolve (or was ambiguous)."""
    by_where: dict[tuple[str, int, int], list[Reference]] = defaultdict(list)
    for ref in refs:
        by_where[ref.where].append(ref)
    resolved: dict[str, tuple[str, str]] = {}
    ambiguous: set[str] = set()
    reasons: list[str] = []
    for group in by_where.values():
        found: dict[str, tuple[str, str]] = {}
        for ref in group:
            for cid, method in _resolve(ref, target, case_ids, links):
                found.setdefault(cid, (method, ref.token))
        if len(found) > 1:
            ambiguous |= set(found)
            systems = sorted({r.system for r in group})
            reasons.append(
                f"{group[0].token} is an id of {' and of '.join(systems)}, naming cases {', '.join(sorted(found))} "
                "(give each system its own pattern: [ci.case_ids.SYSTEM])"
            )
        elif found:
            resolved.update(found)
        else:
            reasons.append("; ".join(dict.fromkeys(_why_not(r, target, links) for r in group)))
    return resolved, ambiguous, reasons


def _resolve(ref: Reference, target: str, case_ids: AbstractSet[str], links: Links) -> list[tuple[str, str]]:
    if ref.system == target:
        return [(ref.case_id, BY_ID)] if ref.case_id in case_ids else []
    linked = links.get(ref.system, {}).get(ref.case_id, frozenset())
    return [(cid, BY_LINK) for cid in sorted(linked) if cid in case_ids]


def _why_not(ref: Reference, target: str, links: Links) -> str:
    if ref.system == target:
        return f"{ref.token} names case {ref.case_id} of {target}, which does not exist there"
    if ref.system not in links:
        return f"{ref.token} names a {ref.system} case ({ref.case_id}); no sync job links {ref.system} and {target}"
    return f"{ref.token} names {ref.system} case {ref.case_id}, which is linked to no case of {target}"
