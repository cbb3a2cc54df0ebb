"""CodeArts TestPlan native records <-> the normalized model (pure functions, no HTTP).

Mapping decisions (what the v1 "custom test service" API can hold):

- **Case marker** -> ``testcase_number`` as ``tpb-<marker>``. The number is settable on create (3-128
  characters), unique in the project, returned by the detail and list endpoints (``number``) and directly
  searchable (``GET /v1/projects/{pid}/testcase?testcase_number=``). The ``tpb-`` prefix tells our numbers
  from the ones CodeArts generates for cases the bridge did not create (those read back with no marker).
- **Folder** -> a reserved label ``dir:A/B``. The v1 API only takes the id of an existing module and has
  no call to create modules, so the path travels as a label; it must fit in one label (25 characters),
  otherwise check_case reports it. No FOLDER entity is declared.
- **Type** -> a reserved label ``type:<normalized type>`` (the custom service has no case type field).
- **Requirements** -> ``issue_id`` (one requirement per case); more than one is reported.
- **Priority** -> ``rank_id`` through the value map (level 0 is the highest; the service defaults to 2).
- automation_key, estimate_seconds and custom fields have no place: reported by check_case when set.
- **Text**: the service stores what it is given; HTML (entered in the web UI) is read as canonical text.
- **Plan marker** -> a trailing `` [tpb:<marker>]`` in the plan *name*, stripped on read: a plan has no
  description or other free field in this API (create takes name, owner, cycle and service types only).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from bridge.errors import Unrepresentable
from bridge.model import Case, CaseType, Plan, PlanRun, Priority, Result, Status, Step
from bridge.text import html_to_canonical, looks_like_html, normalize_whitespace
from mappings.valuemaps import ValueMaps

NUMBER_PREFIX = "tpb-"
FOLDER_LABEL = "dir:"
TYPE_LABEL = "type:"
PLAN_MARKER = re.compile(r"\s*\[tpb:([^\]]+)\]\s*$")

TITLE_MIN, TITLE_MAX = 3, 128
TEXT_MAX = 500
MAX_STEPS = 9  # "fewer than 10"
MAX_LABELS = 24  # "fewer than 25"
LABEL_MAX = 25
NUMBER_MAX = 128
ISSUE_ID_MAX = 32
PLAN_NAME_MAX = 128
RESULT_DESCRIPTION_MAX = 2000
EXECUTE_ID_MAX = 32


def text_in(value: Any) -> str:
    """Native text -> canonical (HTML from the web editor is converted, plain text only folded)."""
    text = "" if value is None else str(value)
    return html_to_canonical(text) if looks_like_html(text) else normalize_whitespace(text)


# -------------------------------------------------------------------------------------------------- cases


def number_for(marker: str) -> str:
    return NUMBER_PREFIX + marker


def marker_of(number: Any) -> str | None:
    if isinstance(number, str) and number.startswith(NUMBER_PREFIX) and len(number) > len(NUMBER_PREFIX):
        return number[len(NUMBER_PREFIX) :]
    return None


def labels_for(case: Case) -> list[str]:
    labels = list(case.tags)
    if case.folder:
        labels.append(FOLDER_LABEL + "/".join(case.folder))
    if case.type is not None:
        labels.append(TYPE_LABEL + case.type.value)
    return labels


def check_case(case: Case) -> list[Unrepresentable]:
    """Everything of ``case`` the custom-service case cannot hold (nothing is ever shortened)."""
    ref = case.id or case.title
    out: list[Unrepresentable] = []

    def bad(field: str, reason: str, value: object = None) -> None:
        out.append(Unrepresentable("case", ref, field, reason, value))

    if not TITLE_MIN <= len(case.title) <= TITLE_MAX:
        bad("title", f"{len(case.title)} characters, {TITLE_MIN} to {TITLE_MAX} allowed", case.title)
    for name in ("description", "preconditions"):
        value = getattr(case, name)
        if len(value) > TEXT_MAX:
            bad(name, f"{len(value)} characters, at most {TEXT_MAX} allowed", value)
    if len(case.steps) > MAX_STEPS:
        bad("steps", f"{len(case.steps)} steps, at most {MAX_STEPS} allowed")
    for i, step in enumerate(case.steps, start=1):
        for name in ("action", "expected"):
            value = getattr(step, name)
            if len(value) > TEXT_MAX:
                bad(f"steps[{i}].{name}", f"{len(value)} characters, at most {TEXT_MAX} allowed", value)
    for tag in case.tags:
        if len(tag) > LABEL_MAX:
            bad("tags", f"tag of {len(tag)} characters, at most {LABEL_MAX} allowed", tag)
        if tag.startswith((FOLDER_LABEL, TYPE_LABEL)):
            bad("tags", f"tag {tag!r} uses a prefix the bridge reserves for folder and type", tag)
    if case.folder:
        label = FOLDER_LABEL + "/".join(case.folder)
        if len(label) > LABEL_MAX:
            bad("folder", f"the folder path is kept as the label {label!r}, at most {LABEL_MAX} characters", label)
    labels = labels_for(case)
    if len(labels) > MAX_LABELS:
        bad("tags", f"{len(labels)} labels (tags plus folder and type), at most {MAX_LABELS} allowed")
    if len(case.requirements) > 1:
        bad("requirements", f"{len(case.requirements)} requirements, a case links at most one")
    elif case.requirements and len(case.requirements[0]) > ISSUE_ID_MAX:
        bad("requirements", f"requirement id longer than {ISSUE_ID_MAX} characters", case.requirements[0])
    if case.automation_key:
        bad("automation_key", "custom-service cases have no automation key field", case.automation_key)
    if case.estimate_seconds is not None:
        bad("estimate_seconds", "custom-service cases have no estimate field", case.estimate_seconds)
    if case.custom:
        bad("custom", f"custom-service cases have no custom fields ({', '.join(sorted(case.custom))})")
    return out


def case_to_native(case: Case, *, service_id: int, maps: ValueMaps, marker: str | None = None) -> dict[str, Any]:
    rank = maps.native("priority", case.priority.value if case.priority else None)
    extend: dict[str, Any] = {
        "description": case.description,
        "preparation": case.preconditions,
        "steps": [{"test_step": s.action, "expect_result": s.expected} for s in case.steps],
        "label_list": labels_for(case),
        "issue_id": case.requirements[0] if case.requirements else "",
    }
    body: dict[str, Any] = {"name": case.title, "service_id": service_id, "extend_info": extend}
    if rank is not None:
        body["rank_id"] = str(rank)
    if marker is not None:
        body["testcase_number"] = number_for(marker)
    return body


def _name(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("name") or "")
    return "" if value is None else str(value)


def parse_time(value: Any) -> datetime | None:
    """CodeArts times: epoch milliseconds, ``YYYY-MM-DD HH:MM:SS`` (UTC) or ISO 8601."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def case_from_native(native: Mapping[str, Any], *, maps: ValueMaps) -> Case:
    """A case detail (``GET /v1/projects/{pid}/testcases/{id}``, or a create/update answer) -> Case."""
    extend = native.get("extend_info") or {}
    folder: tuple[str, ...] = ()
    case_type: CaseType | None = None
    tags: list[str] = []
    for label in extend.get("label_list") or []:
        name = _name(label)
        if name.startswith(FOLDER_LABEL):
            folder = tuple(p for p in name[len(FOLDER_LABEL) :].split("/") if p)
        elif name.startswith(TYPE_LABEL) and name[len(TYPE_LABEL) :] in CaseType._value2member_map_:
            case_type = CaseType(name[len(TYPE_LABEL) :])
        else:
            tags.append(name)
    priority = maps.normal("priority", native.get("rank_id"))
    issue = extend.get("issue") or {}
    issue_id = issue.get("id") if isinstance(issue, Mapping) else None
    author = extend.get("author") or {}
    updator = extend.get("updator") or {}
    return Case(
        id=str(native.get("testcase_id") or native.get("id")),
        marker=marker_of(native.get("testcase_number")),
        created_at=parse_time(author.get("time")),
        updated_at=parse_time(updator.get("time") or author.get("time")),
        folder=folder,
        title=str(native.get("name") or ""),
        description=text_in(extend.get("description")),
        preconditions=text_in(extend.get("preparation")),
        steps=[
            Step(action=text_in(s.get("test_step")), expected=text_in(s.get("expect_result")))
            for s in extend.get("steps") or []
        ],
        priority=Priority(priority) if priority else None,
        type=case_type,
        tags=tags,
        requirements=[str(issue_id)] if issue_id else [],
    )


# -------------------------------------------------------------------------------------------------- plans


def plan_name_for(plan: Plan, marker: str | None) -> str:
    return f"{plan.name} [tpb:{marker}]" if marker else plan.name


def split_plan_name(name: str) -> tuple[str, str | None]:
    match = PLAN_MARKER.search(name)
    if not match:
        return name, None
    return name[: match.start()], match.group(1)


def check_plan(plan: Plan, *, marker_length: int = 0) -> list[Unrepresentable]:
    ref = plan.id or plan.name
    out: list[Unrepresentable] = []
    suffix = len(" [tpb:]") + marker_length if marker_length else 0
    if not plan.name or len(plan.name) + suffix > PLAN_NAME_MAX:
        out.append(
            Unrepresentable(
                "plan",
                ref,
                "name",
                f"{len(plan.name)} characters (+{suffix} for the marker), 1 to {PLAN_NAME_MAX} allowed",
                plan.name,
            )
        )
    if plan.description:
        out.append(Unrepresentable("plan", ref, "description", "CodeArts plans have no description in the API"))
    if plan.milestone:
        out.append(Unrepresentable("plan", ref, "milestone", "CodeArts plans have no milestone in the API"))
    if plan.owner:
        out.append(Unrepresentable("plan", ref, "owner", "the plan owner is set by user id, not by name"))
    if plan.state.value != "active":
        out.append(Unrepresentable("plan", ref, "state", "a plan's stage cannot be set through the API"))
    if len(plan.runs) > 1 or any(r.configuration for r in plan.runs):
        out.append(Unrepresentable("plan", ref, "runs", "a CodeArts plan is one run without configurations"))
    if plan.start_date and plan.end_date and plan.start_date > plan.end_date:
        out.append(Unrepresentable("plan", ref, "start_date", "the start date is after the end date"))
    return out


def plan_to_native(plan: Plan, *, service_id: int, marker: str | None) -> dict[str, Any]:
    cycle: dict[str, str] = {}
    if plan.start_date:
        cycle["start_date"] = plan.start_date.isoformat()
    if plan.end_date:
        cycle["end_date"] = plan.end_date.isoformat()
    return {"name": plan_name_for(plan, marker), "service_id_list": [service_id], "plan_cycle": cycle}


def plan_date(value: Any) -> date | None:
    """A plan's date as both plan APIs send it (``YYYY-MM-DD``, maybe with a time); None when absent or odd."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def plan_from_native(native: Mapping[str, Any], case_ids: list[str]) -> Plan:
    """A TestPlanDetail (v1/v2 list) plus the plan's case ids -> Plan with its one implicit run."""
    name, marker = split_plan_name(str(native.get("name") or ""))
    plan_id = str(native.get("plan_id"))
    return Plan(
        id=plan_id,
        marker=marker,
        name=name,
        start_date=plan_date(native.get("start_date")),
        end_date=plan_date(native.get("end_date")),
        runs=[PlanRun(name=name, case_ids=case_ids, id=plan_id)],
    )


# ------------------------------------------------------------------------------------------------ results


def result_key(result: Result, limit: int = EXECUTE_ID_MAX) -> str:
    """The result's idempotency key (both CodeArts APIs take one of at most 32 letters/digits): its marker
    when it fits, else a hash of it."""
    key = result.marker or f"{result.case_id}|{result.plan_id}|{result.executed_at}|{result.status}"
    if len(key) <= limit and key.isalnum():
        return key
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:limit]


def execute_id_for(result: Result) -> str:
    """The custom-service result's ``execute_id``."""
    return result_key(result, EXECUTE_ID_MAX)


def check_result(result: Result, maps: ValueMaps) -> list[Unrepresentable]:
    out: list[Unrepresentable] = []
    ref = result.marker or result.case_id
    if maps.native("status", result.status.value) is None:
        out.append(Unrepresentable("result", ref, "status", f"{result.status.value!r} has no CodeArts result"))
    if len(result.comment) > RESULT_DESCRIPTION_MAX:
        out.append(Unrepresentable("result", ref, "comment", f"{len(result.comment)} characters, at most 2000 allowed"))
    if result.defects:
        out.append(Unrepresentable("result", ref, "defects", "results carry no defects in the API"))
    return out


def result_to_native(result: Result, maps: ValueMaps, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``execution`` and ``result`` execute_list items of one result."""
    result_id = str(maps.native("status", result.status.value))
    end = result.executed_at or now
    duration_ms = int(round((result.elapsed_seconds or 0) * 1000))
    end_ms = int(end.timestamp() * 1000)
    execute_id = execute_id_for(result)
    execution = {
        "testcase_id": result.case_id,
        "execute_id": execute_id,
        "result_id": result_id,
        "start_time": end_ms - duration_ms,
    }
    outcome = {
        "testcase_id": result.case_id,
        "execute_id": execute_id,
        "result_id": result_id,
        "end_time": end_ms,
        "duration": duration_ms,
        "description": result.comment,
    }
    return execution, outcome


def result_from_list_item(item: Mapping[str, Any], *, plan_id: str | None, maps: ValueMaps) -> Result | None:
    """The latest result of a case, from a case list item (``result`` and ``execute_info``)."""
    status = maps.normal("status", (item.get("result") or {}).get("id"))
    info = item.get("execute_info") or {}
    if status is None or not info:
        return None
    duration = info.get("duration")
    times = info.get("execute_times")
    return Result(
        id=f"{item.get('id')}:{times}",
        case_id=str(item.get("id")),
        plan_id=plan_id,
        run_id=plan_id,
        status=Status(status),
        elapsed_seconds=float(duration) / 1000 if duration not in (None, "") else None,
        executed_at=parse_time(info.get("timestamp") or info.get("time")),
        executed_by=info.get("user_name") or None,
    )
