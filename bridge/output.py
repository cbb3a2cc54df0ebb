"""What commands print: text for people (tables that fit the terminal), JSON for scripts.

``-o json`` (or ``--json``) makes a command print exactly one JSON document on stdout and nothing else; its
shape is described by ``docs/schemas/<name>.schema.json`` and carries ``"schema": "testplan-bridge/<name>/1"``
(the number changes only when a field is removed or changes meaning; new fields may be added).
Everything that is not the result (progress, waiting notes, log lines) goes to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, ConsoleDimensions

if TYPE_CHECKING:
    from bridge.sync.report import SyncReport
    from mappings.tables import Conflict, Run

#: width used when stdout is not a terminal: a piped table is one line per row, never wrapped
PIPE_WIDTH = 10_000


class StdoutConsole(Console):
    """A console whose width is the terminal's on a terminal and unlimited elsewhere (files, pipes).

    Rich otherwise falls back to 80 columns (or the width of the terminal stdin is attached to), so a
    table written to a file wraps its cells onto several lines and a script cannot read it row by row.
    """

    @property
    def size(self) -> ConsoleDimensions:
        if not self.is_terminal:
            return ConsoleDimensions(PIPE_WIDTH, 25)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:  # rich's own setter, kept
        width, height = new_size
        self._width = width
        self._height = height


def stdout_console() -> Console:
    return StdoutConsole()


#: progress, notes and waiting messages: never mixed with a command's result on stdout
err_console = StdoutConsole(stderr=True)

OutputOpt = Annotated[
    str, typer.Option("--output", "-o", metavar="FORMAT", help="text (default) or json (one JSON document)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as -o json")]


def wants_json(output: str, json_flag: bool) -> bool:
    from bridge.errors import ConfigError

    if output not in ("text", "json"):
        raise ConfigError(f"--output: expected text or json, got {output!r}")
    return json_flag or output == "json"


def emit(name: str, document: Mapping[str, Any]) -> None:
    """Print one JSON document of shape ``name`` on stdout."""
    body = {"schema": f"testplan-bridge/{name}/1", **document}
    sys.stdout.write(json.dumps(body, indent=2, default=_default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def iso(when: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z (the store keeps naive UTC datetimes)."""
    if when is None:
        return None
    return when.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def arrow(direction: str) -> str:
    """How a job's direction reads: ``->`` one way left to right, ``<-`` the other way, ``<->`` both."""
    return {"left-to-right": "->", "right-to-left": "<-"}.get(direction, "<->")


def run_dict(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": run.job,
        "kind": run.kind,
        "dry_run": run.dry_run,
        "status": run.status,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_s": run.duration_s,
        "counts": run.counts or {},
        "errors": list(run.errors or []),
    }


def conflict_dict(c: Conflict, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": c.id,
        "job": c.job,
        "entity": c.entity,
        "kind": c.kind,
        "record": c.record,
        "left_id": c.left_id,
        "right_id": c.right_id,
        "field": c.field,
        "state": "open" if c.resolved_at is None else "resolved",
        "resolution": c.resolution,
        "detected_at": iso(c.detected_at),
        "last_seen_at": iso(c.last_seen_at),
        "message": c.message,
    }
    if full:
        data.update(
            side=c.side,
            base_value=c.base_value,
            left_value=c.left_value,
            right_value=c.right_value,
            resolved_at=iso(c.resolved_at),
            resolved_by=c.resolved_by,
            resolved_value=c.resolved_value,
            applied_at=iso(c.applied_at),
            run_id=c.run_id,
            last_run_id=c.last_run_id,
        )
    return data


def report_dict(report: SyncReport, direction: str) -> dict[str, Any]:
    from bridge.sync.report import action_lines

    return {
        "job": report.job,
        "left": report.left,
        "right": report.right,
        "direction": arrow(direction),
        "dry_run": report.dry_run,
        "status": report.status,
        "run_id": report.run_id,
        "counts": [
            {"system": system, "entity": entity, **{k: v for k, v in counts.items() if v}}
            for (system, entity), counts in sorted(report.counts.items())
        ],
        "conflicts": {
            "open": sum(report.conflicts_open.values()),
            "open_by_entity": dict(sorted(report.conflicts_open.items())),
            "opened": report.conflicts_opened,
            "closed": report.conflicts_closed,
        },
        "notes": list(report.notes),
        "errors": list(report.errors),
        # a dry run's plan (what the run would write), as the text output shows it; empty for a real run
        "actions": [line for a in report.actions for line in action_lines(a, would=True)] if report.dry_run else [],
    }


def plain_rows(rows: Sequence[Sequence[str]]) -> list[str]:
    return ["\t".join(r) for r in rows]
