"""Native TestPlanIt rows <-> normalized records. Pure functions (no HTTP), tested on their own.

Mapping decisions (TestPlanIt 0.11, model API):

- Folder = ``repositoryFolders`` path: the chain of names from a top-level folder (``parentId: null``) down;
  there is no root folder.
- Case = ``repositoryCases``: ``name`` -> title, ``steps`` (TipTap ``step``/``expectedResult``) -> steps,
  ``tags`` -> tags, ``className`` -> automation_key, ``estimate`` (seconds) -> estimate_seconds,
  linked ``issues`` (by name) -> requirements. Description, preconditions, priority, type and custom fields
  live in the template's case fields: see fields.py.
- Marker: a tag ``tpb:<marker>`` on the case (and on the run for plans). Tags are the one field the bridge can own
  without taking one a person uses (``className`` is the automation key and part of the case's unique key), they
  are written in the same request as the case (``connectOrCreate``) and can be queried in one request
  (``tags: {some: {name}}``). Marker tags are filtered out of the normalized tags.
- Plan = ``testRuns`` (one implicit PlanRun holding the run's cases); ``note`` -> description, milestone by
  name, ``isCompleted`` -> state. Result = ``testRunResults`` (status via the status table's systemName).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from adapters.testplanit import richtext
from bridge.model import Case, Folder, Plan, PlanRun, PlanState, Result, Status, Step

MARKER_PREFIX = "tpb:"


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def folder_paths(rows: Iterable[Mapping[str, Any]]) -> dict[int, tuple[str, ...]]:
    """Each folder id -> its path: the chain of names from its top-level folder (``parentId: null``) down.

    There is no root folder: a project made in the UI has none, and usually several top-level folders.
    """
    by_id = {r["id"]: r for r in rows}
    paths: dict[int, tuple[str, ...]] = {}

    def path(fid: int, seen: frozenset[int] = frozenset()) -> tuple[str, ...]:
        if fid in paths:
            return paths[fid]
        row = by_id.get(fid)
        if row is None or fid in seen:
            result: tuple[str, ...] = ()
        elif row.get("parentId") is None:
            result = (row["name"],)
        else:
            result = path(row["parentId"], seen | {fid}) + (row["name"],)
        paths[fid] = result
        return result

    for fid in by_id:
        path(fid)
    return paths


def folders_from_native(rows: Iterable[Mapping[str, Any]]) -> list[Folder]:
    """The live folders with their paths (``rows`` may hold soft-deleted ones: their names still make paths)."""
    rows = list(rows)
    paths = folder_paths(rows)
    return [Folder(id=str(r["id"]), path=paths[r["id"]]) for r in rows if paths.get(r["id"]) and not r.get("isDeleted")]


def marker_of(tag_names: Iterable[str]) -> str | None:
    return next((t[len(MARKER_PREFIX) :] for t in sorted(tag_names) if t.startswith(MARKER_PREFIX)), None)


def steps_from_native(rows: Iterable[Mapping[str, Any]]) -> list[Step]:
    live = sorted((r for r in rows if not r.get("isDeleted")), key=lambda r: (r.get("order", 0), r["id"]))
    return [
        Step(action=richtext.to_canonical(r.get("step")), expected=richtext.to_canonical(r.get("expectedResult")))
        for r in live
    ]


def step_to_native(step: Step, order: int) -> dict[str, Any]:
    # the UI stores step documents as JSON strings; writing the same keeps them editable there
    return {
        "order": order,
        "step": richtext.to_json_string(step.action),
        "expectedResult": richtext.to_json_string(step.expected),
    }


def case_from_native(
    row: Mapping[str, Any], paths: Mapping[int, tuple[str, ...]], field_values: Mapping[str, Any] | None = None
) -> Case:
    """``field_values``: description, preconditions, priority, type and custom read from the case's template
    fields (:func:`adapters.testplanit.fields.read_case_values`)."""
    tags = [t["name"] for t in row.get("tags") or []]
    return Case(
        **(field_values or {}),
        id=str(row["id"]),
        marker=marker_of(tags),
        created_at=parse_time(row.get("createdAt")),
        folder=paths.get(row.get("folderId"), ()),  # type: ignore[arg-type]
        title=row["name"],
        steps=steps_from_native(row.get("steps") or []),
        tags=[t for t in tags if not t.startswith(MARKER_PREFIX)],
        automation_key=row.get("className"),
        requirements=[i["name"] for i in row.get("issues") or [] if not i.get("isDeleted")],
        estimate_seconds=row.get("estimate"),
    )


def tag_ops(names: Iterable[str]) -> list[dict[str, Any]]:
    return [{"where": {"name": n}, "create": {"name": n}} for n in sorted(set(names))]


def case_scalars(case: Case) -> dict[str, Any]:
    """The scalar columns of a case (create and update write the same ones)."""
    return {"name": case.title, "className": case.automation_key, "estimate": case.estimate_seconds}


def plan_from_native(row: Mapping[str, Any], milestone_names: Mapping[int, str]) -> Plan:
    tags = [t["name"] for t in row.get("tags") or []]
    case_ids = [str(c["repositoryCaseId"]) for c in row.get("testCases") or []]
    return Plan(
        id=str(row["id"]),
        marker=marker_of(tags),
        created_at=parse_time(row.get("createdAt")),
        name=row["name"],
        description=richtext.to_canonical(row.get("note")),
        milestone=milestone_names.get(row["milestoneId"]) if row.get("milestoneId") else None,
        state=PlanState.COMPLETED if row.get("isCompleted") else PlanState.ACTIVE,
        runs=[PlanRun(name=row["name"], case_ids=case_ids, id=str(row["id"]))],
    )


def result_from_native(row: Mapping[str, Any], status: Status) -> Result:
    elapsed = row.get("elapsed")
    return Result(
        id=str(row["id"]),
        case_id=str((row.get("testRunCase") or {}).get("repositoryCaseId", "")),
        plan_id=str(row["testRunId"]),
        run_id=str(row["testRunId"]),
        status=status,
        comment=richtext.to_canonical(row.get("notes")),
        elapsed_seconds=float(elapsed) if elapsed is not None else None,
        defects=[i["name"] for i in row.get("issues") or []],
        executed_at=parse_time(row.get("executedAt")),
        executed_by=row.get("executedById"),
        created_at=parse_time(row.get("executedAt")),
    )
