"""The conflict log of one run: what the bridge did not decide alone, and the decisions people made."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bridge.errors import Unrepresentable
from bridge.sync.context import RunContext, jsonable
from bridge.sync.merge import FieldConflict, Side, hashes
from bridge.sync.report import PlannedAction
from mappings.tables import Conflict, Link, utcnow


class ConflictLog:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._open: dict[str, list[Conflict]] = defaultdict(list)
        self._resolutions: dict[str, list[Conflict]] = defaultdict(list)

    def load(self, entity: str) -> None:
        """Read the open conflicts and the decisions waiting to be applied for ``entity``."""
        job = self.ctx.job.name
        self._open = defaultdict(list)
        for c in self.ctx.store.conflicts(job=job, open_only=True):
            if c.entity == entity:
                self._open[c.record].append(c)
        self._resolutions = defaultdict(list)
        for c in self.ctx.store.pending_resolutions(job, entity):
            self._resolutions[c.record].append(c)

    # ----------------------------------------------------------------------------------- decisions
    def has_resolution(self, record: str) -> bool:
        return bool(self._resolutions.get(record))

    def forced(self, record: str) -> tuple[dict[str, Any], list[int]]:
        """Values people chose for ``record``'s fields, and the conflicts that hold them."""
        forced: dict[str, Any] = {}
        ids: list[int] = []
        for c in self._resolutions.get(record, []):
            if c.field:
                forced[c.field] = c.resolved_value
                ids.append(c.id)  # type: ignore[arg-type]
        return forced, ids

    def applied(self, conflict_ids: Sequence[int]) -> None:
        if conflict_ids and not self.ctx.dry_run:
            self.ctx.store.mark_applied(conflict_ids)

    def settle(self, entity: str, record: str, fields: Sequence[str]) -> None:
        """Close the open conflicts of ``record`` on ``fields``: the sides agree on them now."""
        if fields and self._open.get(record) and not self.ctx.dry_run:
            self.ctx.store.auto_resolve(self.ctx.job.name, entity, record, sorted(fields))

    # ------------------------------------------------------------------------------------- logging
    def log(self, conflict: Conflict) -> None:
        ctx = self.ctx
        conflict.run_id = ctx.report.run_id
        side_name = ctx.job.left if conflict.left_id else ctx.job.right
        ctx.report.count(side_name, conflict.entity, "conflicts")
        ctx.report.act(
            PlannedAction(conflict.entity, "conflict", "-", conflict.record, f"{conflict.kind} {conflict.field or ''}")
        )
        if not ctx.dry_run:
            ctx.store.log_conflict(conflict)

    def cannot_represent(
        self, entity: str, record: str, problems: Sequence[Unrepresentable], target: Side, **ids: Any
    ) -> None:
        for p in problems:
            self.log(
                Conflict(
                    job=self.ctx.job.name,
                    entity=entity,
                    kind="cannot-represent",
                    record=record,
                    field=p.field,
                    left_value=jsonable(p.value) if target == "right" else None,
                    right_value=jsonable(p.value) if target == "left" else None,
                    message=f"{self.ctx.name(target)} cannot hold it: {p.reason}",
                    **ids,
                )
            )

    def field_conflict(self, entity: str, link: Link, record: str, title: str, fc: FieldConflict) -> None:
        what = (
            f"matched records differ in {fc.field} at first sync"
            if fc.first_sight
            else f"both sides changed {fc.field}"
        )
        conflict = Conflict(
            job=self.ctx.job.name,
            entity=entity,
            kind="first-sight" if fc.first_sight else "edit",
            record=record,
            left_id=link.left_id,
            right_id=link.right_id,
            field=fc.field,
            base_value=jsonable(fc.base),
            left_value=jsonable(fc.left),
            right_value=jsonable(fc.right),
            message=f"{title}: {what}"
            + (f"; decided by {fc.resolution}, the other value is kept here" if fc.resolution else ""),
        )
        if fc.resolution:
            # decided by the job's policy: logged as resolved, with the losing value kept for restoring
            conflict.resolved_at = conflict.applied_at = conflict.detected_at
            conflict.resolution = fc.resolution
            conflict.resolved_value = jsonable(fc.left if fc.winner == "left" else fc.right)
            conflict.resolved_by = "policy"
        self.log(conflict)

    def event(self, entity: str, kind: str, link: Link, message: str, resolution: str, by: str) -> None:
        """Something the bridge decided by itself (a restore, an unlink), logged as decided."""
        now = utcnow()
        self.log(
            Conflict(
                job=self.ctx.job.name,
                entity=entity,
                kind=kind,
                record=self.ctx.record_ref(link.left_id, link.right_id),
                left_id=link.left_id,
                right_id=link.right_id,
                message=message,
                resolution=resolution,
                resolved_at=now,
                applied_at=now,
                resolved_by=by,
            )
        )

    def ambiguous(self, entity: str, key: str, left_ids: list[str], right_ids: list[str]) -> None:
        self.log(
            Conflict(
                job=self.ctx.job.name,
                entity=entity,
                kind="ambiguous-match",
                record=key,
                left_value=left_ids,
                right_value=right_ids,
                message=f"several {entity}s share {key}; link them by hand or make the key unique",
            )
        )

    def note_lossy(self, entity: str, ref: str, sent: dict[str, Any], stored: dict[str, Any], target: Side) -> None:
        """A value the target stored differently from what was sent (fewer levels, re-formatted text)."""
        for name in sorted(sent):
            if sent[name] in (None, "", [], {}):
                continue  # nothing was sent: the target's default is not a loss
            if hashes({name: sent[name]}) != hashes({name: stored.get(name)}):
                now = utcnow()
                self.log(
                    Conflict(
                        job=self.ctx.job.name,
                        entity=entity,
                        kind="lossy-write",
                        record=ref,
                        field=name,
                        left_value=jsonable(sent[name] if target == "right" else stored.get(name)),
                        right_value=jsonable(stored.get(name) if target == "right" else sent[name]),
                        message=f"{self.ctx.name(target)} stored {name} differently from what was sent",
                        resolution="noted",
                        resolved_at=now,
                        applied_at=now,
                        resolved_by="testplan-bridge",
                    )
                )
