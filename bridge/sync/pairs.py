"""One linked pair of cases or plans: merged against its agreed state, written, or settled after a deletion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge.errors import BridgeError
from bridge.sync.conflicts import pair_subject
from bridge.sync.context import SIDES, RunContext, jsonable, other
from bridge.sync.entities import EntityKind
from bridge.sync.match import MatchResult, match_records
from bridge.sync.merge import MergeOutcome, Side, hashes, merge_record
from bridge.sync.report import PlannedAction
from mappings.tables import Link, LinkIds


class PairSync:
    def __init__(self, ctx: RunContext, kind: EntityKind) -> None:
        self.ctx = ctx
        self.kind = kind

    def linked(self, link: Link, left: Any | None, right: Any | None) -> None:
        """A linked pair; a side missing from the listing is looked up directly (a listing alone never
        proves a deletion)."""
        if left is None:
            left = self.kind.get(self.ctx.left, link.left_id)
        if right is None:
            right = self.kind.get(self.ctx.right, link.right_id)
        if left is None or right is None:
            self.deletion(link, left, right)
            return
        self.merge(link, left, right)

    def first_sight(self, left: Any, right: Any) -> None:
        """A pair just matched: linked now, and merged with no agreed state (differences are conflicts)."""
        ctx, entity = self.ctx, self.kind.entity
        link = Link(job=ctx.job.name, entity=entity, left_id=str(left.id), right_id=str(right.id), base={})
        saved = ctx.writer.try_link(link)
        if saved is None:
            return
        ctx.report.act(PlannedAction(entity, "link", "-", ctx.record_ref(left.id, right.id), self.kind.label(left)))
        ctx.report.count(ctx.job.left, entity, "linked")
        self.merge(saved, left, right, first_sight=True)

    def merge(self, link: Link, left: Any, right: Any, *, first_sight: bool = False) -> None:
        """Merge a linked pair and write the outcome; ``first_sight``: the pair was just matched (no base, so
        differing fields are conflicts and never "newest wins")."""
        ctx, kind = self.ctx, self.kind
        entity = kind.entity
        lview, rview = kind.view(left, "left"), kind.view(right, "right")
        record = ctx.record_ref(link.left_id, link.right_id)
        subject = pair_subject(link)
        ctx.conflicts.examine(subject)
        forced, applied = ctx.conflicts.forced(subject)
        trust_left = ctx.left.capabilities.trustworthy_timestamps
        trust_right = ctx.right.capabilities.trustworthy_timestamps
        outcome = merge_record(
            None if first_sight else link.base or {},
            lview,
            rview,
            ctx.policy,
            left_hashes=None if first_sight else link.left_hashes,
            right_hashes=None if first_sight else link.right_hashes,
            left_time=getattr(left, "updated_at", None) if trust_left else None,
            right_time=getattr(right, "updated_at", None) if trust_right else None,
            forced=forced,
        )
        title = kind.label(left)
        if first_sight and outcome.conflicts:
            ctx.report.count(ctx.job.left, entity, "differed")
        for fc in outcome.conflicts:
            ctx.conflicts.field_conflict(entity, link, record, title, fc)
        new_left, new_right = lview, rview
        failed: set[str] = set()
        if outcome.to_right:
            result = ctx.writer.update(kind, "right", link, right, outcome.to_right, title)
            if result is None:
                failed |= set(outcome.to_right)
            else:
                new_right = result
        if outcome.to_left:
            result = ctx.writer.update(kind, "left", link, left, outcome.to_left, title)
            if result is None:
                failed |= set(outcome.to_left)
            else:
                new_left = result
        if not first_sight and not outcome.changed and not outcome.conflicts and not forced:
            if _base_unchanged(link, lview, rview):
                ctx.report.count(ctx.job.left, entity, "unchanged")
                return
        self._save_base(link, outcome, new_left, new_right, failed)
        if not failed:
            ctx.conflicts.applied(applied)

    def _save_base(
        self, link: Link, outcome: MergeOutcome, new_left: dict[str, Any], new_right: dict[str, Any], failed: set[str]
    ) -> None:
        base = dict(link.base or {})
        lh = dict(link.left_hashes or {})
        rh = dict(link.right_hashes or {})
        now_l, now_r = hashes(new_left), hashes(new_right)
        for name, value in outcome.base.items():
            if name not in failed:
                base[name] = jsonable(value)
        for name in outcome.accept_left - failed:
            if name in now_l:
                lh[name] = now_l[name]
        for name in outcome.accept_right - failed:
            if name in now_r:
                rh[name] = now_r[name]
        link.base, link.left_hashes, link.right_hashes = base, lh, rh
        self.ctx.writer.save_link(link)

    def deletion(self, link: Link, left: Any | None, right: Any | None) -> None:
        ctx, kind = self.ctx, self.kind
        entity = kind.entity
        record = ctx.record_ref(link.left_id, link.right_id)
        ctx.conflicts.examine(pair_subject(link))  # the pair's open entries close: a side of it is gone
        if left is None and right is None:
            ctx.report.act(PlannedAction(entity, "unlink", "-", record, "deleted on both sides"))
            ctx.writer.delete_link(link)
            ctx.report.count(ctx.job.left, entity, "deleted")
            return
        gone: Side = "left" if left is None else "right"
        kept = other(gone)
        survivor: Any = right if gone == "left" else left
        view = kind.view(survivor, kept)
        kept_hashes = link.right_hashes if kept == "right" else link.left_hashes
        modified = any(kept_hashes.get(k) != h for k, h in hashes(view).items() if k in kept_hashes)
        if modified and ctx.policy.may_write(gone):
            # a modification beats a deletion: restore the record on the side that deleted it, and say so
            ctx.conflicts.event(
                entity,
                "delete-vs-modify",
                link,
                f"deleted on {ctx.name(gone)} but changed on {ctx.name(kept)}: restored on {ctx.name(gone)}",
                "restored",
                "testplan-bridge",
            )
            ctx.writer.delete_link(link)
            gone_id = link.left_id if gone == "left" else link.right_id
            ctx.writer.create(kind, kept, survivor, kind.for_create(survivor, kept), restored=True, restore_id=gone_id)
            return
        if ctx.job.deletions == "propagate" and ctx.policy.may_write(kept):
            if ctx.writer.delete(kind, kept, str(survivor.id)):
                ctx.writer.delete_link(link)
            return
        # unlink and log; the tombstone keeps the survivor from being copied back as "new"
        ctx.report.act(
            PlannedAction(entity, "unlink", ctx.name(kept), str(survivor.id), f"deleted on {ctx.name(gone)}")
        )
        ctx.report.count(ctx.name(kept), entity, "unlinked")
        ctx.conflicts.event(
            entity,
            "deleted",
            link,
            f"deleted on {ctx.name(gone)}; kept on {ctx.name(kept)} and unlinked (deletions = unlink)",
            "policy:unlink",
            "policy",
        )
        link.state = "unlinked"
        ctx.writer.save_link(link)


def _base_unchanged(link: Link, lview: dict[str, Any], rview: dict[str, Any]) -> bool:
    lh, rh = hashes(lview), hashes(rview)
    return all(link.left_hashes.get(k) == v for k, v in lh.items()) and all(
        link.right_hashes.get(k) == v for k, v in rh.items()
    )


#: below this many vanished records the mass-deletion guard does not trip (one deleted case of three is
#: a person's decision, not a broken listing)
MASS_DELETE_MIN = 3


class MassDeletionStop(BridgeError):
    """Too many linked records vanished at once: the job stops before deleting anything."""


def guard_mass_deletion(ctx: RunContext, entity: str, active: Sequence[LinkIds], listed: dict[Side, Any]) -> None:
    if not active:
        return
    for side in SIDES:
        ids = listed[side]
        vanished = sum(1 for link in active if (link.left_id if side == "left" else link.right_id) not in ids)
        share = vanished / len(active)
        if vanished >= MASS_DELETE_MIN and share > ctx.job.mass_delete_threshold:
            raise MassDeletionStop(
                f"job {ctx.job.name}: {vanished} of {len(active)} linked {entity}s ({share:.0%}) vanished from "
                f"{ctx.name(side)} at once (threshold {ctx.job.mass_delete_threshold:.0%}); nothing was "
                "deleted or changed",
                hint="If the deletions are intended, raise mass_delete_threshold for this job and run again; "
                "otherwise check the system's permissions, filters and scope.",
            )


def match_unlinked(
    ctx: RunContext, kind: EntityKind, listed: dict[Side, dict[str, Any]], links: Sequence[LinkIds], *, complete: bool
) -> MatchResult[Any]:
    """Match the records no link (active or tombstone) covers; log the ambiguous ones. A pair a person chose
    for an ambiguous match is matched first. ``complete``: both listings are full, so an ambiguity no longer
    found is gone."""
    entity = kind.entity
    linked_left = {link.left_id for link in links}
    linked_right = {link.right_id for link in links}
    left = {rid: r for rid, r in listed["left"].items() if rid not in linked_left}
    right = {rid: r for rid, r in listed["right"].items() if rid not in linked_right}
    chosen: list[tuple[Any, Any, str]] = []
    for choice in ctx.conflicts.link_choices:
        pick = choice.resolved_value if isinstance(choice.resolved_value, dict) else {}
        lid, rid = str(pick.get("left")), str(pick.get("right"))
        if lid in left and rid in right:
            chosen.append((left.pop(lid), right.pop(rid), "chosen"))
        else:
            ctx.report.note(
                f"conflict {choice.id}: {ctx.name('left')}:{lid} and {ctx.name('right')}:{rid} are not both "
                "unlinked any more; nothing was linked"
            )
        ctx.conflicts.applied([choice.id])  # type: ignore[list-item]
    if complete:
        ctx.conflicts.examine_kind("ambiguous-match")
    matched = match_records(ctx.job.name, entity, list(left.values()), list(right.values()))
    matched.pairs[:0] = chosen
    for amb in matched.ambiguous:
        ctx.conflicts.ambiguous(entity, amb.key, amb.left_ids, amb.right_ids)
    return matched
