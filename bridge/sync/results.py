"""Results: events copied once each, in execution order, between the plans the job links."""

from __future__ import annotations

from datetime import UTC

from bridge.model import Entity, Plan, Result, Status
from bridge.sync.context import SIDES, RunContext, other
from bridge.sync.markers import marker_for
from bridge.sync.merge import Side
from bridge.sync.report import PlannedAction
from mappings.tables import Intent, Link, ResultCopy


def result_fingerprint(result: Result) -> str:
    """What identifies a result on a system that does not keep our marker: case, status, time (seconds)."""
    when = result.executed_at
    stamp = "" if when is None else str(int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()))
    return f"{result.case_id}|{result.status.value}|{stamp}"


class ResultSync:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def run(self) -> None:
        ctx = self.ctx
        if not (ctx.left.capabilities.read_results and ctx.right.capabilities.read_results):
            return
        if Entity.RESULT not in ctx.left.capabilities.entities or Entity.RESULT not in ctx.right.capabilities.entities:
            return
        ctx.forget_case_links()
        plan_links = [link for link in ctx.store.links(ctx.job.name, "plan") if link.state == "active"]
        if not plan_links:
            return
        ctx.conflicts.load("result")
        self._copy_all(plan_links)
        ctx.conflicts.finish()

    def _read(self, side: Side, plan_id: str) -> list[Result]:
        if self.ctx.is_simulated(side, "plan", plan_id):
            return []  # a plan a dry run would create holds no results yet
        return list(self.ctx.side(side).iter_results(plan_id=plan_id))

    def _copy_all(self, plan_links: list[Link]) -> None:
        ctx = self.ctx
        copied_sources, bridge_made, bridge_markers = ctx.store.copied_results(ctx.job.name)
        landed = ctx.store.open_intents(ctx.job.name, "result")
        for link in plan_links:
            results: dict[Side, list[Result]] = {
                "left": self._read("left", link.left_id),
                "right": self._read("right", link.right_id),
            }
            # before anything is copied either way: results an interrupted run posted but did not record
            for intent in landed:
                target_plan_id = link.right_id if intent.target_side == "right" else link.left_id
                if intent.source_id == f"plan:{target_plan_id}":
                    self._adopt_posted(intent, results, copied_sources, bridge_made)
            plans: dict[Side, Plan | None] = {"left": None, "right": None}
            for source in SIDES:
                target = other(source)
                if not ctx.policy.may_write(target):
                    continue
                fresh = [
                    r
                    for r in results[source]
                    if r.id is not None
                    and (source, r.id) not in copied_sources
                    and f"{source}:{r.id}" not in bridge_made
                    and (r.marker is None or r.marker not in bridge_markers)
                    and result_fingerprint(r) not in bridge_markers
                ]
                if not fresh:
                    continue
                if plans[target] is None:
                    plans[target] = ctx.get_plan(target, link.right_id if target == "right" else link.left_id)
                self._copy(source, target, fresh, link, plans[target])

    def _copy(self, source: Side, target: Side, fresh: list[Result], link: Link, target_plan: Plan | None) -> None:
        ctx = self.ctx
        mapping = ctx.from_source_ids(source)
        run_of: dict[str, str | None] = {}
        if target_plan is not None:
            for run in target_plan.runs:
                for cid in run.case_ids:
                    run_of.setdefault(cid, run.id)
        target_plan_id = link.right_id if target == "right" else link.left_id
        outgoing: list[tuple[Result, Result]] = []
        for result in sorted(fresh, key=lambda r: (r.executed_at is None, r.executed_at or 0, r.id)):  # type: ignore[arg-type, return-value]
            case_id = mapping.get(result.case_id)
            if case_id is None:
                ctx.report.count(ctx.name(target), "result", "skipped")
                continue
            copy = Result(
                case_id=case_id,
                plan_id=target_plan_id,
                run_id=run_of.get(case_id),
                status=result.status,
                comment=result.comment,
                elapsed_seconds=result.elapsed_seconds,
                defects=result.defects,
                executed_at=result.executed_at,
                executed_by=result.executed_by,
                marker=marker_for(ctx.job.name, "result", source, str(result.id)),
            )
            subject = f"{source}:{result.id}"
            ctx.conflicts.examine(subject)
            ref = f"result {ctx.name(source)}:{result.id} (case {result.case_id})"
            fitted, left_out = ctx.writer.fit("result", subject, ref, target, copy, ctx.side(target).check_result)
            if left_out:
                ctx.report.count(ctx.name(target), "result", "skipped")  # a person accepted leaving it out
            if fitted is not None:
                outgoing.append((result, fitted))
        if outgoing:
            source_plan = link.left_id if source == "left" else link.right_id
            ctx.writer.post_results(
                source,
                target,
                target_plan_id,
                outgoing,
                plan_ref=f"{ctx.name(source)}:{source_plan}",
                fingerprint=result_fingerprint,
            )

    def _adopt_posted(
        self,
        intent: Intent,
        results: dict[Side, list[Result]],
        copied_sources: set[tuple[str, str]],
        bridge_made: set[str],
    ) -> None:
        """Record as copies the results an interrupted run posted to ``intent``'s target plan.

        A result on the target that is no known copy and no copied source is taken for the copy of a not yet
        copied source result with the same case and status (one for one, oldest first). A person who posted
        exactly that result meanwhile has it counted as the copy: both sides then hold the same status, and
        nothing is posted twice.
        """
        ctx = self.ctx
        target: Side = intent.target_side  # type: ignore[assignment]
        source = other(target)
        mapping = ctx.from_source_ids(source)
        unknown: dict[tuple[str, Status], list[Result]] = {}
        for r in sorted(results[target], key=lambda r: (len(str(r.id)), str(r.id))):  # numeric ids in order
            if r.id is not None and f"{target}:{r.id}" not in bridge_made and (target, r.id) not in copied_sources:
                unknown.setdefault((r.case_id, r.status), []).append(r)
        rows: list[ResultCopy] = []
        for src in results[source]:
            if src.id is None or (source, src.id) in copied_sources or f"{source}:{src.id}" in bridge_made:
                continue
            pool = unknown.get((mapping.get(src.case_id, ""), src.status))
            if not pool:
                continue
            found = pool.pop(0)
            rows.append(
                ResultCopy(
                    job=ctx.job.name,
                    source_side=source,
                    source_id=str(src.id),
                    target_id=str(found.id),
                    marker=marker_for(ctx.job.name, "result", source, str(src.id)),
                    fingerprint=result_fingerprint(found),
                )
            )
        if rows:
            ctx.report.act(PlannedAction("result", "adopt", ctx.name(target), f"{len(rows)} results", intent.marker))
        ctx.store.record_result_copies(rows)
        for row in rows:
            copied_sources.add((source, row.source_id))
            bridge_made.add(f"{target}:{row.target_id}")
        ctx.writer.resolve_intent(intent.id, f"adopted:{len(rows)}")
        if rows:
            ctx.report.count(ctx.name(target), "result", "adopted", len(rows))
