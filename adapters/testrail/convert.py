"""TestRail native records <-> the normalized model. Pure functions: no HTTP, testable alone.

Field decisions (also in the adapter docstring):

- case ``title`` is plain text; ``custom_preconds`` and the steps of ``custom_steps_separated`` are HTML or
  Markdown in TestRail, read with :func:`bridge.text.html_to_canonical` and written as plain text when the
  canonical text has no markup (so users see what they would type) or as HTML otherwise; either form reads
  back as the same canonical text.
- ``refs`` (comma-separated) <-> ``requirements``; ``custom_automation_id`` <-> ``automation_key``
  (HTML-unescaped and ``<p>`` stripped, as trcli matches it); ``estimate`` ("1m 5s") <-> seconds;
  ``priority_id``/``type_id`` through the value maps; other ``custom_*`` -> ``custom``.
- the marker lives in ``custom_tpb_marker`` for cases and as a final ``[tpb:<marker>]`` line of a plan's
  description (stripped on read: it is not content).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from adapters.testrail.timespan import format_timespan, parse_timespan
from bridge.errors import Unrepresentable
from bridge.model import Case, CaseType, Plan, PlanRun, PlanState, Priority, Result, Status, Step
from bridge.text import canonical_to_html, html_to_canonical, normalize_whitespace
from mappings.valuemaps import ValueMaps

MARKER_FIELD = "custom_tpb_marker"
PRECONDS = "custom_preconds"
STEPS = "custom_steps_separated"
AUTOMATION = "custom_automation_id"
DESCRIPTION = "custom_description"
#: fields the converter maps explicitly; every other custom_* goes to Case.custom
MAPPED_FIELDS = frozenset({MARKER_FIELD, PRECONDS, STEPS, AUTOMATION, DESCRIPTION})
PLAN_MARKER = re.compile(r"(?:\s*\n)?\s*\[tpb:([^\]\s]+)\]\s*$")
_MARKUP = re.compile(r"[*`\[\]<>&]")
_P_TAG = re.compile(r"</?p\s*>", re.I)


# ------------------------------------------------------------------------------------------------ text
def read_text(value: Any) -> str:
    return html_to_canonical(value) if isinstance(value, str) else ""


def write_text(text: str) -> str | None:
    """Canonical text as TestRail should hold it: plain when it has no markup, else HTML."""
    text = normalize_whitespace(text)
    if not text:
        return None
    if not _MARKUP.search(text):
        return text
    return canonical_to_html(text)


def read_automation_id(value: Any) -> str | None:
    """As trcli matches it: HTML entities unescaped, ``<p>`` wrappers stripped."""
    if not isinstance(value, str):
        return None
    return normalize_whitespace(_P_TAG.sub("", html.unescape(value))) or None


def from_unix(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, (int, float)) and value else None


# ----------------------------------------------------------------------------------------------- cases
def section_paths(sections: Sequence[Mapping[str, Any]]) -> dict[int, tuple[str, ...]]:
    """Section id -> path of section names from the root."""
    by_id = {int(s["id"]): s for s in sections}
    paths: dict[int, tuple[str, ...]] = {}

    def path(sid: int, seen: frozenset[int] = frozenset()) -> tuple[str, ...]:
        if sid in paths:
            return paths[sid]
        section = by_id.get(sid)
        if section is None or sid in seen:
            return ()
        parent = section.get("parent_id")
        head = path(int(parent), seen | {sid}) if parent else ()
        paths[sid] = (*head, normalize_whitespace(str(section["name"])))
        return paths[sid]

    for sid in by_id:
        path(sid)
    return paths


def case_from_native(
    raw: Mapping[str, Any],
    folder: tuple[str, ...],
    maps: ValueMaps,
    *,
    custom_fields: Mapping[str, Mapping[str, Any]] | None = None,
) -> Case:
    """A TestRail case (get_case/get_cases item) as a normalized case. ``custom_fields``: system name -> field."""
    steps = [
        Step(action=read_text(s.get("content")), expected=read_text(s.get("expected")))
        for s in (raw.get(STEPS) or [])
        if isinstance(s, Mapping)
    ]
    priority = maps.normal("priority", raw.get("priority_id"))
    case_type = maps.normal("type", raw.get("type_id"))
    try:
        estimate = parse_timespan(raw.get("estimate"))
    except ValueError:
        estimate = None
    custom: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith("custom_") or key in MAPPED_FIELDS or value is None or value == "" or value == []:
            continue
        ftype = (custom_fields or {}).get(key, {}).get("type_id")
        if ftype in (3,):  # text fields carry markup like preconditions
            custom[key] = read_text(value)
        elif isinstance(value, list):
            custom[key] = [str(v) for v in value]
        elif isinstance(value, (str, int, float, bool)):
            custom[key] = value
    return Case(
        id=str(raw["id"]),
        marker=(raw.get(MARKER_FIELD) or None),
        created_at=from_unix(raw.get("created_on")),
        updated_at=from_unix(raw.get("updated_on")),
        folder=folder,
        title=str(raw.get("title") or ""),
        description=read_text(raw.get(DESCRIPTION)),
        preconditions=read_text(raw.get(PRECONDS)),
        steps=steps,
        priority=Priority(priority) if priority else None,
        type=CaseType(case_type) if case_type else None,
        automation_key=read_automation_id(raw.get(AUTOMATION)),
        requirements=raw.get("refs") or [],
        estimate_seconds=estimate,
        tags=read_labels(raw.get("labels")),
        custom=custom,
    )


def read_labels(value: Any) -> list[str]:
    """Label titles of a case read (TestRail 9+ answers ``[{id, title}]``; a bare title is taken as well)."""
    if not isinstance(value, list):
        return []
    titles = [str(v.get("title") or "") if isinstance(v, Mapping) else str(v) for v in value]
    return [t for t in titles if t.strip()]


def case_to_native(
    case: Case,
    maps: ValueMaps,
    *,
    custom_fields: Mapping[str, Mapping[str, Any]],
    ref: str | None = None,
    labels: bool = True,
) -> tuple[dict[str, Any], list[Unrepresentable]]:
    """The add_case/update_case body for ``case`` and what of it TestRail cannot hold.

    Every mapped field is written (empty ones as null) so an update replaces the whole content. Tags are
    the case's labels (``labels``: the server holds labels, TestRail 9+), sent as titles in ``labels``:
    the field case reads answer with, and titles need no lookup (the server makes a label it does not have
    yet). An empty list clears them.
    """
    ref = ref or case.id or case.title
    problems: list[Unrepresentable] = []
    body: dict[str, Any] = {"title": case.title}
    if case.priority is not None:
        native = maps.native("priority", case.priority.value)
        if native is None:
            problems.append(Unrepresentable("case", ref, "priority", f"no TestRail priority maps to {case.priority}"))
        else:
            body["priority_id"] = int(native)
    if case.type is not None:
        native = maps.native("type", case.type.value)
        if native is None:
            problems.append(Unrepresentable("case", ref, "type", f"no TestRail case type maps to {case.type}"))
        else:
            body["type_id"] = int(native)
    body["refs"] = ",".join(case.requirements) or None
    body["estimate"] = format_timespan(case.estimate_seconds)
    if case.estimate_seconds is not None and case.estimate_seconds <= 0:
        body["estimate"] = None
    body[PRECONDS] = write_text(case.preconditions)
    if case.description:
        if DESCRIPTION in custom_fields:
            body[DESCRIPTION] = write_text(case.description)
        else:
            problems.append(
                Unrepresentable(
                    "case",
                    ref,
                    "description",
                    f"TestRail cases have no description field; add a Text case field {DESCRIPTION!r}",
                    case.description,
                )
            )
    elif DESCRIPTION in custom_fields:
        body[DESCRIPTION] = None
    body[STEPS] = [
        {"content": write_text(s.action) or "", "expected": write_text(s.expected) or ""} for s in case.steps
    ]
    body["template_id"] = 2  # "Test Case (Steps)": the template that shows custom_steps_separated
    if case.automation_key is not None and AUTOMATION not in custom_fields:
        problems.append(Unrepresentable("case", ref, "automation_key", f"the project has no {AUTOMATION!r} case field"))
    elif AUTOMATION in custom_fields:
        body[AUTOMATION] = case.automation_key
    if labels:
        body["labels"] = list(case.tags)
    elif case.tags:
        problems.append(
            Unrepresentable("case", ref, "tags", "this TestRail server has no labels (TestRail 9 or later)", case.tags)
        )
    for key, value in case.custom.items():
        field = custom_fields.get(key)
        if field is None or key in MAPPED_FIELDS:
            problems.append(
                Unrepresentable("case", ref, f"custom.{key}", "no such custom case field in TestRail", value)
            )
            continue
        if field.get("type_id") == 3 and isinstance(value, str):
            body[key] = write_text(value)
        elif field.get("type_id") == 12 and isinstance(value, list):
            body[key] = [int(v) if str(v).isdigit() else v for v in value]
        else:
            body[key] = value
    return body, problems


# ----------------------------------------------------------------------------------------------- plans
def split_plan_description(raw: Any) -> tuple[str, str | None]:
    """(description without the marker line, marker)."""
    text = raw if isinstance(raw, str) else ""
    m = PLAN_MARKER.search(text)
    if not m:
        return read_text(text), None
    return read_text(text[: m.start()]), m.group(1)


def plan_description(description: str, marker: str | None) -> str | None:
    body = write_text(description) or ""
    if marker:
        return f"{body}\n\n[tpb:{marker}]" if body else f"[tpb:{marker}]"
    return body or None


def plan_from_native(
    raw: Mapping[str, Any],
    *,
    run_cases: Mapping[int, list[int]],
    config_names: Mapping[int, str],
    milestones: Mapping[int, str],
) -> Plan:
    """A get_plan answer as a Plan; ``run_cases`` gives each run's case ids (from get_tests)."""
    description, marker = split_plan_description(raw.get("description"))
    runs: list[PlanRun] = []
    for entry in raw.get("entries") or []:
        for run in entry.get("runs") or []:
            runs.append(
                PlanRun(
                    id=str(run["id"]),
                    name=str(run.get("name") or entry.get("name") or ""),
                    configuration=[config_names.get(int(c), str(c)) for c in run.get("config_ids") or []],
                    case_ids=[str(c) for c in run_cases.get(int(run["id"]), [])],
                )
            )
    milestone_id = raw.get("milestone_id")
    return Plan(
        id=str(raw["id"]),
        marker=marker,
        created_at=from_unix(raw.get("created_on")),
        name=str(raw.get("name") or ""),
        description=description,
        milestone=milestones.get(int(milestone_id)) if milestone_id else None,
        state=PlanState.COMPLETED if raw.get("is_completed") else PlanState.ACTIVE,
        runs=sorted(runs, key=lambda r: (r.name, r.configuration)),
    )


def plan_problems(plan: Plan, *, config_ids: Mapping[str, int], milestones: Mapping[str, int]) -> list[Unrepresentable]:
    ref = plan.id or plan.name
    problems: list[Unrepresentable] = []
    for name, value in (("start_date", plan.start_date), ("end_date", plan.end_date)):
        if value is not None:
            problems.append(Unrepresentable("plan", ref, name, "TestRail plans have no dates", value))
    if plan.owner:
        problems.append(Unrepresentable("plan", ref, "owner", "TestRail plans have no settable owner", plan.owner))
    if plan.milestone and plan.milestone not in milestones:
        problems.append(Unrepresentable("plan", ref, "milestone", "no such milestone in the project", plan.milestone))
    for run in plan.runs:
        for config in run.configuration:
            if config not in config_ids:
                problems.append(
                    Unrepresentable("plan", ref, f"runs[{run.name}].configuration", "no such configuration", config)
                )
        if not run.name:
            problems.append(Unrepresentable("plan", ref, "runs", "a TestRail run needs a name"))
        if not run.case_ids:
            problems.append(Unrepresentable("plan", ref, f"runs[{run.name}]", "a run without cases is not kept"))
    return problems


def entries_for(runs: Sequence[PlanRun], *, suite_id: int, config_ids: Mapping[str, int]) -> list[dict[str, Any]]:
    """Plan entries for normalized runs: runs with configurations that share a name share an entry."""
    entries: list[dict[str, Any]] = []
    grouped: dict[str, dict[str, Any]] = {}
    for run in runs:
        cases = [int(c) for c in run.case_ids]
        if not run.configuration:
            entries.append({"suite_id": suite_id, "name": run.name, "include_all": False, "case_ids": cases})
            continue
        ids = [config_ids[c] for c in run.configuration]
        entry = grouped.get(run.name)
        if entry is None:
            entry = {"suite_id": suite_id, "name": run.name, "include_all": False, "config_ids": [], "runs": []}
            grouped[run.name] = entry
            entries.append(entry)
        entry["config_ids"] = sorted(set(entry["config_ids"]) | set(ids))
        entry["runs"].append({"include_all": False, "case_ids": cases, "config_ids": ids})
    return entries


# --------------------------------------------------------------------------------------------- results
def result_from_native(
    raw: Mapping[str, Any],
    *,
    case_id: int,
    run_id: int,
    plan_id: int | None,
    maps: ValueMaps,
    users: Mapping[int, str],
) -> Result | Unrepresentable:
    status = maps.normal("status", raw.get("status_id"))
    if status is None:
        return Unrepresentable(
            "result",
            str(raw.get("id")),
            "status",
            f"TestRail status {raw.get('status_id')} has no normalized mapping (add it to value_maps.status)",
            raw.get("status_id"),
        )
    try:
        elapsed = parse_timespan(raw.get("elapsed"))
    except ValueError:
        elapsed = None
    created_by = raw.get("created_by")
    return Result(
        id=str(raw["id"]),
        case_id=str(case_id),
        run_id=str(run_id),
        plan_id=str(plan_id) if plan_id else None,
        status=Status(status),
        comment=read_text(raw.get("comment")),
        elapsed_seconds=float(elapsed) if elapsed is not None else None,
        defects=raw.get("defects") or [],
        executed_at=from_unix(raw.get("created_on")),
        created_at=from_unix(raw.get("created_on")),
        executed_by=users.get(int(created_by)) if created_by else None,
    )


def result_to_native(result: Result, maps: ValueMaps) -> tuple[dict[str, Any], list[Unrepresentable]]:
    problems: list[Unrepresentable] = []
    native = maps.native("status", result.status.value)
    body: dict[str, Any] = {"case_id": int(result.case_id)}
    if native is None:
        problems.append(
            Unrepresentable("result", result.case_id, "status", f"no TestRail status maps to {result.status}")
        )
    else:
        body["status_id"] = int(native)
    if result.comment:
        body["comment"] = result.comment
    if result.elapsed_seconds:
        body["elapsed"] = format_timespan(max(1, round(result.elapsed_seconds)))
    if result.defects:
        body["defects"] = ",".join(result.defects)
    return body, problems


def to_unix(value: datetime | date | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
