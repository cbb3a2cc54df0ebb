"""What a CI push did: the short summary for CI logs, the JSON report and the exit code policy."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bridge.ci.matching import Match, Unmatched

FailOn = Literal["unmatched", "errors", "never"]

#: exit codes (bridge/cli.py): 0 ok, 1 the run failed, 3 finished but left what the user asked to fail on
#: (bad input exits 2 before anything is sent: bridge.errors.ConfigError, bridge.ci.junit.JUnitError)
EXIT_OK, EXIT_FAILED, EXIT_UNMATCHED = 0, 1, 3
FAIL_ON_VALUES: tuple[FailOn, ...] = ("errors", "unmatched", "never")


@dataclass
class PushReport:
    system: str
    files: list[str] = field(default_factory=list)
    tests: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # JUnit outcome -> tests
    matched: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)  # method -> tests
    created: list[str] = field(default_factory=list)  # ids of the cases created on the target
    unmatched: list[str] = field(default_factory=list)  # test labels
    unmatched_reasons: dict[str, str] = field(default_factory=dict)  # test label -> why no case
    #: every test -> case decision: {"test", "case_id", "method", "via"}
    matches: list[dict[str, str]] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    plan_id: str | None = None
    plan_name: str | None = None
    plan_created: bool = False
    run_id: str | None = None
    run_name: str | None = None
    posted: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # normalized status -> results posted
    result_ids: list[str] = field(default_factory=list)
    closed: bool = False
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    source: dict[str, Any] = field(default_factory=dict)  # e.g. the apptest.ai test set
    #: results that reached linked systems through sync jobs: "job -> system": results copied
    propagated: dict[str, int] = field(default_factory=dict)

    def record_matches(self, matches: list[Match], unmatched: list[Unmatched]) -> None:
        """Tests are counted once, by how they first matched, however many cases they report on."""
        first: dict[int, str] = {}
        for m in matches:
            first.setdefault(id(m.test), m.method)
        self.matched_by = dict(Counter(first.values()))
        self.matched = len(first)
        self.matches = [
            {"test": m.test.label(), "case_id": m.case_id, "method": m.method, "via": m.via} for m in matches
        ]
        self.unmatched = [u.test.label() for u in unmatched]
        self.unmatched_reasons = {u.test.label(): u.reason for u in unmatched}

    def to_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: it copies every string of every match through copy.deepcopy, 15 ms of a
        # 2,000-test push spent after the last answer; the fields hold JSON values only, copied as deep here
        return {f.name: _copied(getattr(self, f.name)) for f in fields(self)}

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", "utf-8")

    def summary_lines(self, *, max_unmatched: int = 20) -> list[str]:
        by = ", ".join(f"{n} by {m}" for m, n in sorted(self.matched_by.items()))
        lines = [
            f"{self.tests} tests in {len(self.files)} file(s): "
            + ", ".join(f"{n} {o}" for o, n in self.outcomes.items() if n),
            f"matched {self.matched}" + (f" ({by})" if by else "") + f", created {len(self.created)} case(s), "
            f"unmatched {len(self.unmatched)}",
        ]
        if not self.matches and not self.errors:
            lines.append(f"{self.system}: no test matched a case: no plan created or changed, nothing posted")
        if self.plan_id is not None:
            plan = f"plan {self.plan_name!r} (id {self.plan_id}{', created' if self.plan_created else ''})"
            run = f", run {self.run_name!r} (id {self.run_id})" if self.run_id else ""
            lines.append(f"{self.system}: {plan}{run}")
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        lines.append(
            f"posted {self.posted} result(s)"
            + (f": {statuses}" if statuses else "")
            + f" in {self.requests} request(s), {self.seconds:.1f} s"
            + (", plan closed" if self.closed else "")
        )
        for route, n in self.propagated.items():
            lines.append(f"  linked: {n} result(s) copied through job {route}")
        for label in self.unmatched[:max_unmatched]:
            why = self.unmatched_reasons.get(label)
            lines.append(f"  unmatched: {label}" + (f" ({why})" if why else ""))
        if len(self.unmatched) > max_unmatched:
            lines.append(f"  ... and {len(self.unmatched) - max_unmatched} more (see --report-json)")
        return lines

    def exit_code(self, fail_on: FailOn) -> int:
        """``errors`` (default): 1 when the target refused something or results could not be posted, else 0.
        ``unmatched``: like ``errors``, and 3 when a test reports on no case (unmatched or ambiguous).
        ``never``: 0 whatever the target answered (bad input still exits 2, before anything is sent)."""
        if fail_on == "never":
            return EXIT_OK
        if self.errors:
            return EXIT_FAILED
        if fail_on == "unmatched" and self.unmatched:
            return EXIT_UNMATCHED
        return EXIT_OK


def _copied(value: Any) -> Any:
    """A JSON value's copy: its dicts, lists and tuples new, the strings and numbers in them shared."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copied(v) for v in value)
    return value
