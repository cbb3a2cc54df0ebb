"""Native case library (v4) records <-> the normalized model (pure functions, no HTTP).

Where each normalized field lives on a native case (``TestCaseInfo`` / ``TestCaseDetailVo``):

- folder -> ``feature_uri``, the directory the case sits in; paths are the directory names people gave them,
  at any depth (the adapter resolves uris to paths from the directory tree);
- title -> ``name``; description -> ``remark``; preconditions -> ``preparation``; steps -> ``steps``
  (``test_step``/``expect_result``); priority -> ``rank`` (0 is the highest, the ``priority`` value map);
  type -> ``test_type`` (the project's test types, the ``type`` value map); tags -> ``tags`` (one
  comma-separated string); requirements -> ``dr_relation_id`` (one requirement per case);
- custom -> the project's custom case fields ``custom_field_1..25`` by the names the project gave them, plus
  ``owner`` (the case's handler) for jobs that map it in ``custom_fields``;
- **marker** -> ``compare_number`` ("paired case number"): a field the case form does not show in lists or on
  the case page, so nobody reads it; the number people see (``number``) and the name are left alone.

Iterations (plans): name, description and plan dates are native; the marker goes to ``number`` (the
iteration's "development branch" field), never into the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.codearts.convert import check_result as check_result  # the same rules for both APIs
from adapters.codearts.convert import plan_date, result_key
from bridge.errors import Unrepresentable
from bridge.model import Case, CaseType, Plan, PlanRun, Priority, Result, Status, Step
from bridge.text import html_to_canonical, looks_like_html, normalize_whitespace
from mappings.valuemaps import ValueMaps

MARKER_PREFIX = "tpb-"
OWNER = "owner"
NAME_MIN, NAME_MAX = 3, 255
MAX_STEPS = 50
RESULT_URI_MAX = 32

Path = tuple[str, ...]


def text_in(value: Any) -> str:
    text = "" if value is None else str(value)
    return html_to_canonical(text) if looks_like_html(text) else normalize_whitespace(text)


def marker_value(marker: str) -> str:
    return MARKER_PREFIX + marker


def marker_of(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(MARKER_PREFIX) and len(value) > len(MARKER_PREFIX):
        return value[len(MARKER_PREFIX) :]
    return None


def millis(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------- cases


def case_from_native(
    native: Mapping[str, Any],
    *,
    paths: Mapping[str, Path],
    maps: ValueMaps,
    fields: Mapping[str, str],
) -> Case:
    """A case detail (``show_test_case``, or a create/update answer) -> Case.

    ``paths``: directory uri -> path; ``fields``: ``custom_field_N`` -> the name the project gave it."""
    priority = maps.normal("priority", native.get("rank"))
    case_type = maps.normal("type", native.get("test_type"))
    custom: dict[str, Any] = {}
    for param, name in fields.items():
        value = native.get(param)
        if value not in (None, ""):
            custom[name] = str(value)
    if native.get("owner"):
        custom[OWNER] = str(native["owner"])
    requirement = str(native.get("dr_relation_id") or "")
    return Case(
        id=str(native.get("uri")),
        marker=marker_of(native.get("compare_number")),
        created_at=millis(native.get("creation_date_timestamp")),
        updated_at=millis(native.get("last_modified_timestamp")),
        folder=paths.get(str(native.get("feature_uri") or ""), ()),
        title=str(native.get("name") or ""),
        description=text_in(native.get("remark")),
        preconditions=text_in(native.get("preparation")),
        steps=[
            Step(action=text_in(s.get("test_step")), expected=text_in(s.get("expect_result")))
            for s in native.get("steps") or []
        ],
        priority=Priority(priority) if priority else None,
        type=CaseType(case_type) if case_type and case_type in CaseType._value2member_map_ else None,
        tags=[t for t in str(native.get("tags") or "").split(",") if t.strip()],
        requirements=[requirement] if requirement else [],
        custom=custom,
    )


def check_case(case: Case, *, field_names: set[str], maps: ValueMaps) -> list[Unrepresentable]:
    """What of ``case`` a native case cannot hold (nothing is ever shortened)."""
    ref = case.id or case.title
    out: list[Unrepresentable] = []

    def bad(field: str, reason: str, value: object = None) -> None:
        out.append(Unrepresentable("case", ref, field, reason, value))

    if not NAME_MIN <= len(case.title) <= NAME_MAX:
        bad("title", f"{len(case.title)} characters, {NAME_MIN} to {NAME_MAX} allowed", case.title)
    if len(case.steps) > MAX_STEPS:
        bad("steps", f"{len(case.steps)} steps, at most {MAX_STEPS} allowed")
    for tag in case.tags:
        if "," in tag:
            bad("tags", "tags are kept as one comma-separated text: a tag cannot contain a comma", tag)
    if len(case.requirements) > 1:
        bad("requirements", f"{len(case.requirements)} requirements, a case links at most one")
    if case.type is not None and maps.native("type", case.type.value) is None:
        bad("type", f"{case.type.value!r} has no CodeArts test type in the value map", case.type.value)
    unknown = sorted(k for k in case.custom if k != OWNER and k not in field_names)
    if unknown:
        bad("custom", f"the project has no custom case field named {', '.join(unknown)}")
    return out


def case_to_native(
    case: Case,
    *,
    feature_uri: str,
    version_uri: str,
    maps: ValueMaps,
    params: Mapping[str, str],
    project_id: str,
    marker: str | None = None,
) -> dict[str, Any]:
    """A ``TestCaseInfo`` body. ``params``: custom field name -> ``custom_field_N``."""
    body: dict[str, Any] = {
        "name": case.title,
        "remark": case.description,
        "preparation": case.preconditions,
        "steps": [{"test_step": s.action, "expect_result": s.expected} for s in case.steps],
        "tags": ",".join(case.tags),
        "feature_uri": feature_uri,
        "dr_relation_id": case.requirements[0] if case.requirements else "",
        "version_uri": version_uri,
        "project_uuid": project_id,
    }
    rank = maps.native("priority", case.priority.value if case.priority else None)
    if rank is not None:
        body["rank"] = int(rank)
    test_type = maps.native("type", case.type.value if case.type else None)
    if test_type is not None:
        body["test_type"] = int(test_type)
    for name, param in params.items():
        if name in case.custom:
            value = case.custom[name]
            body[param] = "" if value is None else str(value)
    if OWNER in case.custom:
        body["owner"] = str(case.custom[OWNER] or "")
    if marker is not None:
        body["compare_number"] = marker_value(marker)
    return body


# ------------------------------------------------------------------------------------------------- plans


def plan_from_native(native: Mapping[str, Any], case_ids: list[str]) -> Plan:
    plan_id = str(native.get("uri"))
    name = str(native.get("name") or "")
    return Plan(
        id=plan_id,
        marker=marker_of(native.get("number")),
        name=name,
        description=text_in(native.get("description")),
        start_date=plan_date(native.get("plan_start_date")),
        end_date=plan_date(native.get("plan_end_date")),
        runs=[PlanRun(name=name, case_ids=sorted(case_ids), id=plan_id)],
    )


def check_plan(plan: Plan) -> list[Unrepresentable]:
    ref = plan.id or plan.name
    out: list[Unrepresentable] = []
    if not plan.name or len(plan.name) > 128:
        out.append(Unrepresentable("plan", ref, "name", f"{len(plan.name)} characters, 1 to 128 allowed", plan.name))
    if plan.milestone:
        out.append(Unrepresentable("plan", ref, "milestone", "CodeArts iterations have no milestone"))
    if plan.owner:
        out.append(Unrepresentable("plan", ref, "owner", "the plan owner is set by user id, not by name"))
    if len(plan.runs) > 1 or any(r.configuration for r in plan.runs):
        out.append(Unrepresentable("plan", ref, "runs", "a CodeArts plan is one run without configurations"))
    if plan.start_date and plan.end_date and plan.start_date > plan.end_date:
        out.append(Unrepresentable("plan", ref, "start_date", "the start date is after the end date"))
    return out


def plan_to_native(plan: Plan, *, marker: str | None, current_number: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": plan.name,
        "description": plan.description,
        "plan_start_date": plan.start_date.isoformat() if plan.start_date else "",
        "plan_end_date": plan.end_date.isoformat() if plan.end_date else "",
    }
    number = marker_value(marker) if marker else current_number
    if number:
        body["number"] = number
    return body


# ----------------------------------------------------------------------------------------------- results


def result_uri_for(result: Result) -> str:
    """The result's idempotency key, sent as the result ``uri``."""
    return result_key(result, RESULT_URI_MAX)


def result_to_native(result: Result, maps: ValueMaps) -> dict[str, Any]:
    return {
        "uri": result_uri_for(result),
        "result": str(maps.native("status", result.status.value)),
        "description": result.comment,
    }


def result_from_item(item: Mapping[str, Any], *, plan_id: str | None, maps: ValueMaps) -> Result | None:
    """The latest result of a case, from a list item of the plan (``result`` and ``execute_info``)."""
    status = maps.normal("status", (item.get("result") or {}).get("id"))
    info = item.get("execute_info") or {}
    if status is None or not info:
        return None
    duration = info.get("duration")
    return Result(
        id=f"{item.get('uri')}:{info.get('execute_times')}",
        case_id=str(item.get("uri")),
        plan_id=plan_id,
        run_id=plan_id,
        status=Status(status),
        elapsed_seconds=float(duration) / 1000 if duration not in (None, "", "0", 0) else None,
        executed_at=millis(info.get("timestamp")),
        executed_by=info.get("user_name") or None,
    )


def journal_time(entries: Iterable[Mapping[str, Any]]) -> datetime | None:
    """When the plan last changed, from its journal entries (any order): the newest ``operate_time``. None
    when an entry's time has no time of day (the vendor's example shows a bare date): such a journal cannot
    tell a change later the same day, so the plan is read."""
    newest: datetime | None = None
    for entry in entries:
        text = str(entry.get("operate_time") or "")
        try:
            when = datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return None
        newest = when if newest is None or when > newest else newest
    return newest
