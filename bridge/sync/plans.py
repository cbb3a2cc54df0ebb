"""Plans: linked after the cases (their membership is translated through the case links)."""

from __future__ import annotations

from typing import Any

from bridge.errors import RemoteError
from bridge.model import Entity
from bridge.sync.context import SIDES, RunContext, other
from bridge.sync.entities import PlanKind
from bridge.sync.intents import set_aside_duplicates, settle_intents
from bridge.sync.merge import Side
from bridge.sync.pairs import PairSync, guard_mass_deletion, match_unlinked
from bridge.sync.plan_reads import PlanReads


class PlanSync:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.kind = PlanKind(ctx)
        self.pairs = PairSync(ctx, self.kind)
        self.reads = PlanReads(ctx)

    def run(self) -> None:
        ctx = self.ctx
        entity = Entity.PLAN.value
        if Entity.PLAN not in ctx.left.capabilities.entities or Entity.PLAN not in ctx.right.capabilities.entities:
            return
        ctx.forget_case_links()  # the case stage may have linked or unlinked cases
        ctx.conflicts.load(entity)
        # linked plans unchanged since the read mark come as PlanUnchanged (id, name, marker): see plan_reads
        listed: dict[Side, dict[str, Any]] = self.reads.read(ctx.store.links(ctx.job.name, entity))
        links = ctx.store.links(ctx.job.name, entity)
        settle_intents(ctx, self.kind, listed, links)  # type: ignore[arg-type]
        links = ctx.store.links(ctx.job.name, entity)
        set_aside_duplicates(ctx, self.kind, listed, links, complete=True)  # type: ignore[arg-type]
        for side in SIDES:
            ctx.conflicts.examine_missing(side, listed[side])
        active = [link for link in links if link.state == "active"]
        guard_mass_deletion(ctx, entity, active, listed)
        for link in active:
            try:
                pair = self.reads.resolve(link, listed["left"].get(link.left_id), listed["right"].get(link.right_id))
                if pair is not None:
                    self.pairs.linked(link, *pair)
            except RemoteError as exc:
                ctx.report.error(str(exc))
        matched = match_unlinked(ctx, self.kind, listed, links, complete=True)  # type: ignore[arg-type]
        for lp, rp, _how in matched.pairs:
            self.pairs.first_sight(lp, rp)
        for source, plans in (("left", matched.left_only), ("right", matched.right_only)):
            if not ctx.policy.may_write(other(source)):  # type: ignore[arg-type]
                continue
            for plan in plans:
                try:
                    ctx.writer.create(self.kind, source, plan, self.kind.for_create(plan, source))  # type: ignore[arg-type]
                except RemoteError as exc:
                    ctx.report.error(str(exc))
        ctx.conflicts.finish()
