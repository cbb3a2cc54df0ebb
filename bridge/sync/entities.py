"""The few things cases and plans do differently, behind one shape, so one pair path serves both.

Each kind says how a record becomes the job's merge view, how merged values go back into a record, and
which adapter calls read and write it (all through the adapter contract).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from adapters.base import Adapter, CheckedCase
from bridge.errors import Unrepresentable
from bridge.model import Case, Plan
from bridge.sync.context import RunContext
from bridge.sync.merge import Side
from bridge.sync.views import apply_plan, plan_for_create


class EntityKind(Protocol):
    entity: str

    def view(self, record: Any, side: Side) -> dict[str, Any]: ...

    def apply(self, current: Any, values: dict[str, Any], side: Side) -> Any: ...

    def check(self, adapter: Adapter, record: Any) -> list[Unrepresentable]: ...

    def inspect(self, adapter: Adapter, record: Any) -> tuple[list[Unrepresentable], Any]:
        """``check``'s problems, and its verdict with what the adapter worked out for ``create`` (or None)."""
        ...

    def create(self, adapter: Adapter, record: Any, marker: str, checked: Any = None) -> Any:
        """Create ``record``; ``checked``: what ``inspect`` gave for this very record, when the caller has it."""
        ...

    def restore(self, adapter: Adapter, native_id: str, record: Any, marker: str) -> Any | None:
        """Bring back the deleted record ``native_id`` in place; None: the system cannot, so create instead."""
        ...

    def update(self, adapter: Adapter, native_id: str, record: Any) -> Any: ...

    def delete(self, adapter: Adapter, native_id: str) -> None: ...

    def get(self, adapter: Adapter, native_id: str) -> Any | None: ...

    def find_by_marker(self, adapter: Adapter, marker: str) -> Any | None: ...

    def find_by_markers(self, adapter: Adapter, markers: Collection[str]) -> dict[str, Any]:
        """The records carrying any of ``markers``, by marker, in as few requests as the system allows."""
        ...

    def label(self, record: Any) -> str: ...

    def for_create(self, record: Any, source: Side) -> Any:
        """The record to create on the other side from ``record`` (read on ``source``)."""
        ...


class CaseKind:
    entity = "case"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def view(self, record: Case, side: Side) -> dict[str, Any]:
        return self.ctx.case_fields.view(record, side)

    def apply(self, current: Case, values: dict[str, Any], side: Side) -> Case:
        return self.ctx.case_fields.apply(current, values, side)

    def check(self, adapter: Adapter, record: Case) -> list[Unrepresentable]:
        return adapter.check_case(record)

    def inspect(self, adapter: Adapter, record: Case) -> tuple[list[Unrepresentable], CheckedCase]:
        verdict = adapter.inspect_case(record)
        return verdict.problems, verdict

    def create(self, adapter: Adapter, record: Case, marker: str, checked: Any = None) -> Case:
        if isinstance(checked, CheckedCase) and checked.case is record:
            return adapter.create_checked(checked, marker=marker)
        return adapter.create_case(record, marker=marker)

    def restore(self, adapter: Adapter, native_id: str, record: Case, marker: str) -> Case | None:
        return adapter.restore_case(native_id, record, marker=marker)

    def update(self, adapter: Adapter, native_id: str, record: Case) -> Case:
        return adapter.update_case(native_id, record)

    def delete(self, adapter: Adapter, native_id: str) -> None:
        adapter.delete_case(native_id)

    def get(self, adapter: Adapter, native_id: str) -> Case | None:
        return adapter.get_case(native_id)

    def find_by_marker(self, adapter: Adapter, marker: str) -> Case | None:
        return adapter.find_case_by_marker(marker)

    def find_by_markers(self, adapter: Adapter, markers: Collection[str]) -> dict[str, Case]:
        return adapter.find_cases_by_markers(markers)

    def label(self, record: Case) -> str:
        return record.title

    def for_create(self, record: Case, source: Side) -> Case:
        return self.ctx.case_fields.for_create(record, source)


class PlanKind:
    entity = "plan"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def view(self, record: Plan, side: Side) -> dict[str, Any]:
        return self.ctx.plan_view(record, side)

    def apply(self, current: Plan, values: dict[str, Any], side: Side) -> Plan:
        return apply_plan(
            current,
            values,
            side=side,
            from_left_ids=self.ctx.case_map("left_to_right"),
            to_left_ids=self.ctx.to_left_ids(side),
        )

    def check(self, adapter: Adapter, record: Plan) -> list[Unrepresentable]:
        return adapter.check_plan(record)

    def inspect(self, adapter: Adapter, record: Plan) -> tuple[list[Unrepresentable], None]:
        return adapter.check_plan(record), None  # a plan's check is cheap next to its create: nothing kept

    def create(self, adapter: Adapter, record: Plan, marker: str, checked: Any = None) -> Plan:
        return adapter.create_plan(record, marker=marker)

    def restore(self, adapter: Adapter, native_id: str, record: Plan, marker: str) -> Plan | None:
        return None  # no system keeps deleted plans to bring back: a restored plan is created again

    def update(self, adapter: Adapter, native_id: str, record: Plan) -> Plan:
        return adapter.update_plan(native_id, record)

    def delete(self, adapter: Adapter, native_id: str) -> None:
        adapter.delete_plan(native_id)

    def get(self, adapter: Adapter, native_id: str) -> Plan | None:
        return adapter.get_plan(native_id)

    def find_by_marker(self, adapter: Adapter, marker: str) -> Plan | None:
        return adapter.find_plan_by_marker(marker)

    def find_by_markers(self, adapter: Adapter, markers: Collection[str]) -> dict[str, Plan]:
        return {m: p for m in sorted(set(markers)) if (p := adapter.find_plan_by_marker(m)) is not None}

    def label(self, record: Plan) -> str:
        return record.name

    def for_create(self, record: Plan, source: Side) -> Plan:
        ctx = self.ctx
        keep_runs = ctx.left.capabilities.plan_runs and ctx.right.capabilities.plan_runs
        new, missing = plan_for_create(
            record, from_source_ids=ctx.from_source_ids(source), keep_runs=keep_runs, fields=ctx.plan_fields
        )
        if missing:
            ref = f"{ctx.name(source)}:{record.id} {record.name!r}"
            ctx.report.note(f"plan {ref}: {len(missing)} member case(s) are not linked and were not copied")
        return new
