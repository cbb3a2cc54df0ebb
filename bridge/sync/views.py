"""What of a record the engine merges, and how merged values are put back into a record. Pure: no I/O.

A *view* is a flat dict of the fields both systems of a job can hold, in shared terms:
- cases: the normalized content fields both adapters declare, plus mapped custom fields as ``custom.<left name>``;
- plans: name, description, dates, milestone, state, and ``cases``: the plan's member cases as *left* ids
  (right ids are translated through the case links; members with no link are not the job's business and are
  left untouched on their side).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.model import Case, Plan, PlanRun

PLAN_VIEW_FIELDS = ("name", "description", "start_date", "end_date", "milestone", "state")


@dataclass(frozen=True)
class CaseFields:
    """The case fields a job merges: those both sides hold, and the custom field name pairs."""

    common: tuple[str, ...]
    custom: tuple[tuple[str, str], ...]  # (left name, right name)

    @classmethod
    def for_job(
        cls, left: frozenset[str] | None, right: frozenset[str] | None, custom_fields: Mapping[str, str]
    ) -> CaseFields:
        every = [f for f in Case.content_fields() if f != "custom"]
        common = tuple(f for f in every if (left is None or f in left) and (right is None or f in right))
        return cls(common, tuple(sorted(custom_fields.items())))

    def view(self, case: Case, side: str) -> dict[str, Any]:
        content = case.content()
        out = {name: content[name] for name in self.common}
        for lname, rname in self.custom:
            out[f"custom.{lname}"] = case.custom.get(lname if side == "left" else rname)
        return out

    def apply(self, case: Case, values: Mapping[str, Any], side: str) -> Case:
        """``case`` with ``values`` (view keys) put in; validated so the result is canonical."""
        data = case.model_dump()
        custom = dict(data.get("custom") or {})
        for key, value in values.items():
            if key.startswith("custom."):
                lname = key[len("custom.") :]
                rname = dict(self.custom).get(lname, lname)
                custom[lname if side == "left" else rname] = value
            else:
                data[key] = value
        data["custom"] = custom
        return Case.model_validate(data)

    def for_create(self, source: Case, source_side: str) -> Case:
        """A new record for the other side: the source's content, custom fields renamed, identity dropped."""
        # only the fields both sides hold travel; the others keep the target's defaults (not data loss:
        # the target has no place for them, and the source keeps them)
        data = source.model_dump(include={"title", *self.common})
        custom: dict[str, Any] = {}
        for lname, rname in self.custom:
            if source_side == "left" and lname in source.custom:
                custom[rname] = source.custom[lname]
            elif source_side == "right" and rname in source.custom:
                custom[lname] = source.custom[rname]
        data["custom"] = custom
        return Case.model_validate(data)


def translate_ids(ids: Iterable[str], mapping: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(translated ids, ids with no mapping)."""
    done: list[str] = []
    missing: list[str] = []
    for i in ids:
        (done if i in mapping else missing).append(mapping.get(i, i))
    return sorted(set(done)), missing


def plan_view(plan: Plan, side: str, fields: Iterable[str], to_left_ids: Mapping[str, str]) -> dict[str, Any]:
    """The plan's merge view; ``to_left_ids`` maps this side's case ids to left ids (identity for left)."""
    content = plan.content()
    out = {name: content[name] for name in fields if name in PLAN_VIEW_FIELDS}
    members = plan.case_ids()
    out["cases"] = (
        sorted(to_left_ids[c] for c in members if c in to_left_ids)
        if side == "right"
        else sorted(c for c in members if c in to_left_ids)
    )
    return out


def apply_plan(
    plan: Plan,
    values: Mapping[str, Any],
    *,
    side: str,
    from_left_ids: Mapping[str, str],
    to_left_ids: Mapping[str, str],
) -> Plan:
    """``plan`` with merged values put in. ``cases`` (left ids) become this side's ids; members the job
    does not link stay where they are; additions go to the first run, removals leave every run."""
    data = plan.model_dump()
    for key in PLAN_VIEW_FIELDS:
        if key in values:
            data[key] = values[key]
    new = Plan.model_validate(data)
    if "cases" not in values:
        return new
    wanted_left = set(values["cases"])
    wanted = {from_left_ids[c] if side == "right" else c for c in wanted_left if side == "left" or c in from_left_ids}
    linked_here = set(to_left_ids)  # this side's ids that the job links
    runs = [r.model_copy(deep=True) for r in new.runs] or [PlanRun(name=new.name)]
    present: set[str] = set()
    for run in runs:
        keep = [c for c in run.case_ids if c not in linked_here or c in wanted]
        run.case_ids = sorted(set(keep))
        present.update(run.case_ids)
    additions = sorted(wanted - present)
    if additions:
        runs[0].case_ids = sorted(set(runs[0].case_ids) | set(additions))
    return new.model_copy(update={"runs": [PlanRun.model_validate(r.model_dump()) for r in runs]})


def plan_for_create(
    source: Plan, *, from_source_ids: Mapping[str, str], keep_runs: bool, fields: Iterable[str] | None = None
) -> tuple[Plan, list[str]]:
    """A new plan for the other side with member cases translated; also the members that have no link."""
    missing: list[str] = []
    if keep_runs and source.runs:
        runs = []
        for run in source.runs:
            ids, miss = translate_ids(run.case_ids, from_source_ids)
            missing += miss
            runs.append(PlanRun(name=run.name, configuration=run.configuration, case_ids=ids))
    else:
        ids, missing = translate_ids(source.case_ids(), from_source_ids)
        runs = [PlanRun(name=source.name, case_ids=ids)]
    # only the plan fields both sides hold travel
    keep = set(PLAN_VIEW_FIELDS if fields is None else fields) | {"name"}
    data = source.model_dump(include=keep)
    return Plan.model_validate({**data, "runs": [r.model_dump() for r in runs]}), missing
