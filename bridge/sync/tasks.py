"""The job option ``perftest``: one task per linked plan on a system that keeps tasks (CodeArts PerfTest),
holding the task-system cases the plan's member cases point to. Reached only through the adapter contract's
:class:`~adapters.base.PlanTasks`, opened by the caller's ``open_plan_tasks``."""

from __future__ import annotations

from collections.abc import Callable

from adapters.base import PlanTasks
from bridge.errors import RemoteError
from bridge.model import Case
from bridge.sync.context import RunContext
from bridge.sync.report import PlannedAction
from bridge.sync.unchanged import full

PlanTasksOpener = Callable[[str], PlanTasks]


def perftest_case_ids(case: Case) -> set[int]:
    """PerfTest case ids a case points to: tags ``perftest:<id>`` and a ``perftest_case_id`` custom field."""
    found = {int(t.split(":", 1)[1]) for t in case.tags if t.startswith("perftest:") and t.split(":", 1)[1].isdigit()}
    value = case.custom.get("perftest_case_id")
    for item in value if isinstance(value, list) else [value]:
        if item is not None and str(item).strip().isdigit():
            found.add(int(str(item).strip()))
    return found


class PlanTaskSync:
    """A case points to PerfTest cases with a tag ``perftest:<id>`` or a custom field ``perftest_case_id``
    (either side). Plans whose cases point to none get no task."""

    def __init__(self, ctx: RunContext, open_tasks: PlanTasksOpener | None) -> None:
        self.ctx = ctx
        self.open_tasks = open_tasks

    def run(self) -> None:
        ctx = self.ctx
        system = ctx.job.perftest
        assert system is not None
        if not ctx.listed_cases:
            ctx.report.note("perftest: cases were not read in this run (add 'case' to entities)")
            return
        if self.open_tasks is None:
            ctx.report.error(f"perftest: this run was started without a way to reach {system}")
            return
        plan_links = [link for link in ctx.store.links(ctx.job.name, "plan") if link.state == "active"]
        left_to_right = ctx.case_map("left_to_right")
        with self.open_tasks(system) as tasks:
            for link in plan_links:
                plan = ctx.get_plan("left", link.left_id)
                if plan is None:
                    continue
                wanted: set[int] = set()
                for cid in plan.case_ids():
                    for side, native in (("left", cid), ("right", left_to_right.get(cid))):
                        case = full(ctx.listed_cases.get(side, {}).get(native or ""))  # type: ignore[call-overload]
                        wanted |= perftest_case_ids(case) if case is not None else set()
                if not wanted:
                    continue
                ctx.report.act(PlannedAction("plan", "task", system, plan.name, f"{len(wanted)} cases"))
                if ctx.dry_run:
                    continue
                try:
                    tasks.ensure_plan_task(plan.name, sorted(wanted))
                    ctx.report.count(system, "task", "updated")
                except RemoteError as exc:
                    ctx.report.error(f"PerfTest task for plan {plan.name!r}: {exc}")
                    ctx.report.count(system, "task", "errors")
