"""Cases: read both sides (in full, or only what changed where the side can say so), then settle unfinished
creates, merge linked pairs, link matched records and create the rest."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from bridge.config import parse_duration
from bridge.model import Case, Entity
from bridge.sync.conflicts import pair_subject
from bridge.sync.context import SIDES, RunContext, other
from bridge.sync.entities import CaseKind
from bridge.sync.intents import set_aside_duplicates, settle_intents
from bridge.sync.merge import Side
from bridge.sync.pairs import PairSync, guard_mass_deletion, match_unlinked
from bridge.sync.unchanged import Packed, Unchanged, full, same_hashes
from bridge.text import stable_json
from mappings.tables import Link, LinkRef, as_utc, utcnow

log = logging.getLogger("bridge.sync")


class CaseSync:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.kind = CaseKind(ctx)
        self.pairs = PairSync(ctx, self.kind)
        #: (side, newest change seen, when read in full or None), saved when the run ends without errors
        self.pending_marks: list[tuple[Side, datetime, datetime | None]] = []
        self._mark_keys: dict[Side, str] = {}
        self._stored: dict[Side, dict[str, bytes]] = {"left": {}, "right": {}}
        #: per side, native id -> the linked id on the other side
        self._partners: dict[Side, dict[str, str]] = {"left": {}, "right": {}}

    def run(self) -> None:
        ctx = self.ctx
        entity = Entity.CASE.value
        ctx.conflicts.load(entity)
        # links without their agreed state: the pairs to merge get theirs below (see Store.link_summaries)
        links, digests = ctx.store.link_summaries(ctx.job.name, entity)
        self._stored = self._stored_digests(links, digests)
        del digests
        since: dict[Side, datetime | None] = {side: self._incremental_since(side) for side in SIDES}
        listed: dict[Side, dict[str, Any]] = {"left": self._read("left", since["left"])}
        listed["right"] = self._read("right", since["right"], listed["left"])
        # A side read incrementally lacks its old unlinked records, and matching the other side's new records
        # against them is what keeps a first sight from becoming a duplicate: read it in full then.
        linked: dict[Side, set[str]] = {"left": {lk.left_id for lk in links}, "right": {lk.right_id for lk in links}}
        for side in SIDES:
            opposite = other(side)
            if since[side] is not None and any(cid not in linked[opposite] for cid in listed[opposite]):
                log.info(
                    "new records on %s: reading %s in full to match them",
                    ctx.name(opposite),
                    ctx.name(side),
                    extra={"job": ctx.job.name},
                )
                since[side] = None
                listed[side] = self._read(side, None)
        self._remember_read_marks(listed, since)
        ctx.listed_cases = listed
        if settle_intents(ctx, self.kind, listed, links):
            del links  # (not two lists of every link at once)
            links, _ = ctx.store.link_summaries(ctx.job.name, entity)
        complete = since["left"] is None and since["right"] is None
        set_aside_duplicates(ctx, self.kind, listed, links, complete=complete)
        for side in SIDES:
            if since[side] is None:
                ctx.conflicts.examine_missing(side, listed[side])
        active = [link for link in links if link.state == "active"]
        # nothing is inferred missing from a side that listed only its changes
        present: dict[Side, Any] = {side: listed[side] if since[side] is None else _AllPresent() for side in SIDES}
        guard_mass_deletion(ctx, entity, active, present)

        # A pair is unchanged when each side is either listed with the hashes its link stored (Unchanged) or,
        # read incrementally, not listed (not changed since the mark); unless it has an open entry or a
        # decision to apply. The rest is merged, with its full link.
        busy = ctx.conflicts.busy_subjects()
        todo: list[tuple[LinkRef, Any, Any]] = []
        for link in active:
            left, right = listed["left"].get(link.left_id), listed["right"].get(link.right_id)
            quiet = all(
                isinstance(rec, Unchanged) or (rec is None and since[side] is not None)
                for side, rec in zip(SIDES, (left, right), strict=True)
            )
            if quiet and pair_subject(link) not in busy:
                for rec in (left, right):
                    if isinstance(rec, Unchanged):
                        rec.drop()
                ctx.report.count(ctx.job.left, entity, "unchanged")
                continue
            # a side that is None here is looked up directly (unchanged since the mark, or gone)
            todo.append((link, left, right))
        pairs: list[tuple[Link, Case | None, Case | None]] = []
        for first in range(0, len(todo), 500):
            chunk = todo[first : first + 500]
            loaded = ctx.store.links_by_id([lk.id for lk, _, _ in chunk if lk.id is not None])
            pairs += [(loaded[lk.id], le, ri) for lk, le, ri in chunk if lk.id in loaded]
        del todo
        # each pair's cases are unpacked as its worker takes it up: never all of them at once
        ctx.parallel(f"{ctx.job.name}: linked cases", pairs, lambda p: self.pairs.linked(p[0], full(p[1]), full(p[2])))
        del pairs

        matched = match_unlinked(ctx, self.kind, listed, links, complete=complete)
        ctx.parallel(
            f"{ctx.job.name}: matched cases", matched.pairs, lambda p: self.pairs.first_sight(full(p[0]), full(p[1]))
        )
        creates: list[tuple[Side, Any]] = [  # packed: create_many unpacks a batch at a time
            ("left", c) for c in matched.left_only
        ] + [("right", c) for c in matched.right_only]
        creates = [(s, c) for s, c in creates if ctx.policy.may_write(other(s))]
        ctx.writer.create_many(self.kind, creates, f"{ctx.job.name}: new cases")
        ctx.conflicts.finish()

    def _stored_digests(
        self, links: list[LinkRef], digests: dict[int, tuple[bytes, bytes]]
    ) -> dict[Side, dict[str, bytes]]:
        """Per side, native id -> digest of the hashes its active link stored. Empty when the job needs every
        listed case whole (the PerfTest option reads their tags)."""
        stored: dict[Side, dict[str, bytes]] = {"left": {}, "right": {}}
        self._partners = {"left": {}, "right": {}}
        if self.ctx.job.perftest:
            return stored
        busy = self.ctx.conflicts.busy_subjects()  # merged in any case: their cases are kept whole
        for link in links:
            if link.state == "active" and link.id in digests and pair_subject(link) not in busy:
                stored["left"][link.left_id], stored["right"][link.right_id] = digests[link.id]
                self._partners["left"][link.left_id] = link.right_id
                self._partners["right"][link.right_id] = link.left_id
        return stored

    def _read(self, side: Side, since: datetime | None, read: dict[str, Any] | None = None) -> dict[str, Any]:
        """The side's cases in scope by id, each held small: a linked case whose view hashes equal its link's as
        :class:`~bridge.sync.unchanged.Unchanged`, the others :class:`~bridge.sync.unchanged.Packed`.
        ``read``: the other side's listing, read before: a pair unchanged on both sides then keeps neither case
        (the one read first is dropped now)."""
        ctx = self.ctx
        what = "changed cases" if since is not None else "cases"
        tick = ctx.progress(f"reading {ctx.name(side)} {what}", None)
        stored, partners = self._stored[side], self._partners[side]
        cases: dict[str, Any] = {}
        for case in ctx.side(side).iter_cases(since=since):
            if case.id is not None and ctx.in_scope_path(case.folder):
                digest = stored.get(case.id)
                if digest is not None and same_hashes(self.kind.view(case, side), digest):
                    partner = read.get(partners[case.id]) if read is not None else None
                    if isinstance(partner, Unchanged):
                        partner.drop()
                        cases[case.id] = Unchanged(case, keep=False)
                    else:
                        cases[case.id] = Unchanged(case)
                else:
                    cases[case.id] = Packed(case)
                tick(1)
        return cases

    # ------------------------------------------------------------------------------- read marks
    def read_mark_key(self, side: Side) -> str:
        """Read marks hold for one scope and one folder tree: widening the scope must bring in old records, and
        renaming or moving a folder changes the path of cases whose own change time stays put. Either one
        makes a new key, hence a full read."""
        key = self._mark_keys.get(side)
        if key is None:
            paths = sorted("/".join(f.path) for f in self.ctx.side(side).iter_folders())
            scope = stable_json({"scope": sorted(self.ctx.job.scope.folders), "folders": paths})
            key = self._mark_keys[side] = "case@" + hashlib.sha256(scope.encode()).hexdigest()[:12]
        return key

    def _incremental_since(self, side: Side) -> datetime | None:
        """Where to start an incremental read of ``side``'s cases, or None for a full read."""
        ctx = self.ctx
        every = ctx.job.full_read_every
        if every is None or ctx.job.perftest or not ctx.side(side).capabilities.incremental_cases:
            return None  # (the PerfTest option needs every case's tags, so it reads in full)
        mark = ctx.store.read_mark(ctx.job.name, side, self.read_mark_key(side))
        if mark is None or as_utc(mark.full_read_at) + parse_duration(every) <= utcnow():
            return None
        return as_utc(mark.watermark)

    def _remember_read_marks(self, listed: dict[Side, dict[str, Any]], since: dict[Side, datetime | None]) -> None:
        """Keep where this read ended; saved only by a run that ends without errors (see ``save_read_marks``)."""
        self.pending_marks = []
        if self.ctx.job.full_read_every is None:
            return
        for side in SIDES:
            if not self.ctx.side(side).capabilities.incremental_cases:
                continue
            times = [as_utc(c.updated_at) for c in listed[side].values() if c.updated_at is not None]
            newest = max(times, default=since[side])
            if newest is not None:
                self.pending_marks.append((side, newest, utcnow() if since[side] is None else None))

    def save_read_marks(self) -> None:
        # only for a run without errors: a mark moved past changes a failed write left behind would lose them
        for side, newest, full_read_at in self.pending_marks:
            self.ctx.store.save_read_mark(
                self.ctx.job.name, side, self.read_mark_key(side), watermark=newest, full_read_at=full_read_at
            )


class _AllPresent:
    """Stands for the listing of a side read incrementally: every linked record counts as present."""

    def __contains__(self, _: object) -> bool:
        return True
