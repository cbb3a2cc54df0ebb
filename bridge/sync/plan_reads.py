"""Incremental plan reads: a side whose adapter can tell unchanged plans cheaply (``incremental_plans``:
CodeArts reads each plan's journal) has the case lists of its linked plans read only when they changed since
the read mark; otherwise the link's stored state stands for them. The same rules as the case read marks
(:mod:`bridge.sync.cases`): only with the job's ``full_read_every``, a full read at least that often, a mark
saved only by a run without errors, and a new mark key when the plan scope changes.

A plan's view also depends on which of its cases are linked, so a run that created, linked or unlinked cases
reads the plans in full.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from adapters.base import PlanUnchanged
from bridge.config import parse_duration
from bridge.model import Entity, Plan
from bridge.sync.conflicts import pair_subject
from bridge.sync.context import SIDES, RunContext
from bridge.sync.merge import Side, hashes
from bridge.text import stable_json
from mappings.tables import Link, as_utc, utcnow

#: case counts that mean case links moved in this run (plan views are made of linked cases)
CASE_LINK_MOVES = ("created", "linked", "unlinked", "deleted", "adopted", "restored")


class PlanReads:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.pending_marks: list[tuple[Side, datetime, datetime | None]] = []
        key = stable_json({"plans": sorted(ctx.job.scope.plan_names)})
        self.mark_key = "plan@" + hashlib.sha256(key.encode()).hexdigest()[:12]

    def read(self, links: list[Link]) -> dict[Side, dict[str, Plan | PlanUnchanged]]:
        ctx = self.ctx
        busy = ctx.conflicts.busy_subjects()
        active = [link for link in links if link.state == "active" and pair_subject(link) not in busy]
        listed: dict[Side, dict[str, Plan | PlanUnchanged]] = {}
        for side in SIDES:
            adapter = ctx.side(side)
            if not self._incremental(side):
                listed[side] = {p.id: p for p in adapter.iter_plans() if p.id is not None and ctx.in_plan_scope(p)}
                continue
            since = self._since(side)
            linked = {link.left_id if side == "left" else link.right_id for link in active}
            plans = [p for p in adapter.iter_plans_since(since, linked) if self._in_scope(p)]
            listed[side] = {p.id: p for p in plans if p.id is not None}
            newest = max((as_utc(p.updated_at) for p in plans if p.updated_at is not None), default=since)
            if newest is not None:
                self.pending_marks.append((side, newest, utcnow() if since is None else None))
        return listed

    def resolve(self, link: Link, left: Any, right: Any) -> tuple[Any, Any] | None:
        """The pair with a side found unchanged read in full when the other side changed; None when neither
        changed since the link's state was stored (nothing to merge)."""
        if not isinstance(left, PlanUnchanged) and not isinstance(right, PlanUnchanged):
            return left, right
        ctx = self.ctx
        pair: dict[Side, Any] = {"left": left, "right": right}
        stored = {"left": link.left_hashes, "right": link.right_hashes}
        changed = [
            side
            for side in SIDES
            if not isinstance(pair[side], PlanUnchanged)
            and (pair[side] is None or hashes(ctx.plan_view(pair[side], side)) != stored[side])
        ]
        if not changed:
            ctx.report.count(ctx.job.left, Entity.PLAN.value, "unchanged")
            return None
        for side in SIDES:
            if isinstance(pair[side], PlanUnchanged):
                pair[side] = ctx.get_plan(side, pair[side].id)
        return pair["left"], pair["right"]

    def save_read_marks(self) -> None:
        for side, newest, full_read_at in self.pending_marks:
            self.ctx.store.save_read_mark(
                self.ctx.job.name, side, self.mark_key, watermark=newest, full_read_at=full_read_at
            )

    def _incremental(self, side: Side) -> bool:
        ctx = self.ctx
        return ctx.job.full_read_every is not None and ctx.side(side).capabilities.incremental_plans

    def _since(self, side: Side) -> datetime | None:
        ctx = self.ctx
        every = ctx.job.full_read_every
        assert every is not None
        moved = any(
            counts[what]
            for (_system, entity), counts in ctx.report.counts.items()
            if entity == Entity.CASE.value
            for what in CASE_LINK_MOVES
        )
        mark = ctx.store.read_mark(ctx.job.name, side, self.mark_key)
        if moved or mark is None or as_utc(mark.full_read_at) + parse_duration(every) <= utcnow():
            return None
        return as_utc(mark.watermark)

    def _in_scope(self, plan: Plan | PlanUnchanged) -> bool:
        if isinstance(plan, Plan):
            return self.ctx.in_plan_scope(plan)
        patterns = self.ctx.job.scope.plan_names
        return not patterns or self.ctx.in_plan_scope(Plan(name=plan.name))
