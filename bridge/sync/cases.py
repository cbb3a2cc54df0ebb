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
from bridge.sync.merge import Side, hashes
from bridge.sync.pairs import PairSync, guard_mass_deletion, match_unlinked
from bridge.text import stable_json
from mappings.tables import Link, as_utc, utcnow

log = logging.getLogger("bridge.sync")


class CaseSync:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.kind = CaseKind(ctx)
        self.pairs = PairSync(ctx, self.kind)
        #: (side, newest change seen, when read in full or None), saved when the run ends without errors
        self.pending_marks: list[tuple[Side, datetime, datetime | None]] = []
        self._mark_keys: dict[Side, str] = {}

    def run(self) -> None:
        ctx = self.ctx
        entity = Entity.CASE.value
        ctx.conflicts.load(entity)
        links = ctx.store.links(ctx.job.name, entity)
        since: dict[Side, datetime | None] = {side: self._incremental_since(side) for side in SIDES}
        listed: dict[Side, dict[str, Case]] = {side: self._read(side, since[side]) for side in SIDES}
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
        settle_intents(ctx, self.kind, listed, links)
        links = ctx.store.links(ctx.job.name, entity)
        complete = since["left"] is None and since["right"] is None
        set_aside_duplicates(ctx, self.kind, listed, links, complete=complete)
        for side in SIDES:
            if since[side] is None:
                ctx.conflicts.examine_missing(side, listed[side])
        active = [link for link in links if link.state == "active"]
        # nothing is inferred missing from a side that listed only its changes
        present: dict[Side, Any] = {side: listed[side] if since[side] is None else _AllPresent() for side in SIDES}
        guard_mass_deletion(ctx, entity, active, present)

        pairs: list[tuple[Link, Case | None, Case | None]] = []
        for link in active:
            left, right = listed["left"].get(link.left_id), listed["right"].get(link.right_id)
            if (left is None and since["left"] is not None) or (right is None and since["right"] is not None):
                if not self._changed_since_base(link, left, right, since):
                    ctx.report.count(ctx.job.left, entity, "unchanged")
                    continue
            # a side that is None here is looked up directly (unchanged since the mark, or gone)
            pairs.append((link, left, right))
        ctx.parallel(f"{ctx.job.name}: linked cases", pairs, lambda p: self.pairs.linked(*p))

        matched = match_unlinked(ctx, self.kind, listed, links, complete=complete)
        ctx.parallel(f"{ctx.job.name}: matched cases", matched.pairs, lambda p: self.pairs.first_sight(p[0], p[1]))
        creates: list[tuple[Side, Case]] = [("left", c) for c in matched.left_only] + [
            ("right", c) for c in matched.right_only
        ]
        creates = [(s, c) for s, c in creates if ctx.policy.may_write(other(s))]
        ctx.writer.create_many(self.kind, creates, f"{ctx.job.name}: new cases")
        ctx.conflicts.finish()

    def _read(self, side: Side, since: datetime | None) -> dict[str, Case]:
        ctx = self.ctx
        what = "changed cases" if since is not None else "cases"
        tick = ctx.progress(f"reading {ctx.name(side)} {what}", None)
        cases: dict[str, Case] = {}
        for case in ctx.side(side).iter_cases(since=since):
            if case.id is not None and ctx.in_scope_path(case.folder):
                cases[case.id] = case
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

    def _remember_read_marks(self, listed: dict[Side, dict[str, Case]], since: dict[Side, datetime | None]) -> None:
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

    def _changed_since_base(
        self, link: Link, left: Case | None, right: Case | None, since: dict[Side, datetime | None]
    ) -> bool:
        """Whether a pair with a side unchanged since the read mark needs merging: the other side changed (or
        is gone from a full listing), or a person's resolution waits to be applied."""
        if self.ctx.conflicts.has_resolution(pair_subject(link)):
            return True
        sides: tuple[tuple[Side, Case | None, dict[str, str]], ...] = (
            ("left", left, link.left_hashes),
            ("right", right, link.right_hashes),
        )
        for side, case, stored in sides:
            if case is None:
                if since[side] is None:
                    return True  # missing from a full listing: the deletion check decides
                continue
            if hashes(self.kind.view(case, side)) != stored:
                return True
        return False


class _AllPresent:
    """Stands for the listing of a side read incrementally: every linked record counts as present."""

    def __contains__(self, _: object) -> bool:
        return True
