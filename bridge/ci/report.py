"""What a CI push did: the short summary for CI logs, the JSON report and the exit code policy."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

FailOn = Literal["unmatched", "errors", "never"]

#: exit codes (bridge/cli.py): 0 ok, 1 the run failed, 3 finished but left what the user asked to fail on
EXIT_OK, EXIT_FAILED, EXIT_UNMATCHED = 0, 1, 3


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

    def count_matches(self, methods: list[str]) -> None:
        self.matched_by = dict(Counter(methods))
        self.matched = len(methods)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
            lines.append(f"  unmatched: {label}")
        if len(self.unmatched) > max_unmatched:
            lines.append(f"  ... and {len(self.unmatched) - max_unmatched} more (see --report-json)")
        for label, ids in list(self.ambiguous.items())[:max_unmatched]:
            lines.append(f"  ambiguous: {label} matches cases {', '.join(ids)}")
        for error in self.errors:
            lines.append(f"  error: {error}")
        return lines

    def exit_code(self, fail_on: FailOn) -> int:
        """``errors`` (default): 1 when results could not be posted. ``unmatched``: also 3 when a test matched
        no case. ``never``: 0 whatever happened after the input was read (bad input still exits 2 earlier)."""
        if fail_on == "never":
            return EXIT_OK
        if self.errors:
            return EXIT_FAILED
        if fail_on == "unmatched" and (self.unmatched or self.ambiguous):
            return EXIT_UNMATCHED
        return EXIT_OK
