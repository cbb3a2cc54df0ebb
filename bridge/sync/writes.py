"""The one path by which a run changes anything: remote creates, updates and deletes, links and intents.

Every write is checked against what the side can hold first (a value it cannot hold becomes a
``cannot-represent`` entry and that write is not made), planned as an action, counted, and only then sent;
a create is preceded by a committed intent carrying the marker the new record will hold, and the link (with
the base snapshot) is saved only after the remote write succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from bridge.errors import CannotRepresent, RemoteError, TransportError, Unrepresentable
from bridge.model import Result
from bridge.sync.conflicts import pair_subject
from bridge.sync.context import RunContext, jsonable, other
from bridge.sync.entities import EntityKind
from bridge.sync.faultpoints import reached
from bridge.sync.markers import marker_for
from bridge.sync.merge import Side, hashes
from bridge.sync.report import FieldChange, PlannedAction
from mappings.tables import Link, ResultCopy


class Writer:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------------------------ records
    def fit(
        self,
        entity: str,
        subject: str,
        ref: str,
        target: Side,
        candidate: Any,
        check: Callable[[Any], list[Unrepresentable]],
        *,
        fallback: Any = None,
        ids: dict[str, str | None] | None = None,
    ) -> tuple[Any | None, bool]:
        """``candidate`` as ``target`` can hold it: with the values people decided on where it cannot, or None
        (what it cannot hold is logged and nothing is written). The flag: a person accepted leaving it out."""
        problems = check(candidate)
        if problems:
            adjusted, skip = self.ctx.conflicts.waive(subject, target, candidate, problems, fallback)
            if skip:
                return None, True
            if adjusted is not None:
                candidate, problems = adjusted, check(adjusted)
        if problems:
            self.ctx.conflicts.cannot_represent(entity, subject, ref, problems, target, candidate, **(ids or {}))
            return None, False
        return candidate, False

    def update(
        self, kind: EntityKind, target: Side, link: Link, current: Any, values: dict[str, Any], label: str
    ) -> dict[str, Any] | None:
        """Write merged values to one side; return that side's view as stored, or None when not written."""
        ctx = self.ctx
        adapter = ctx.side(target)
        entity = kind.entity
        native_id = link.right_id if target == "right" else link.left_id
        ref = f"{ctx.record_ref(link.left_id, link.right_id)} {label!r}"
        subject = pair_subject(link)
        fitted, _ = self.fit(
            entity, subject, ref, target, kind.apply(current, values, target), lambda r: kind.check(adapter, r),
            fallback=current, ids={"left_id": link.left_id, "right_id": link.right_id},
        )  # fmt: skip
        if fitted is None:
            return None
        old, new = kind.view(current, target), kind.view(fitted, target)
        changes = tuple(
            FieldChange(name, old.get(name), new.get(name))
            for name in sorted(values)
            if hashes({name: old.get(name)}) != hashes({name: new.get(name)})
        )
        if not changes:
            return new  # what people decided leaves that side as it is: nothing to send
        ctx.report.act(PlannedAction(entity, "update", ctx.name(target), native_id, label, changes))
        if ctx.dry_run:
            ctx.report.count(ctx.name(target), entity, "updated")
            return new
        reached(f"{entity}.update.before")
        try:
            stored = kind.update(adapter, native_id, fitted)
        except CannotRepresent as exc:
            ctx.conflicts.cannot_represent(entity, subject, ref, exc.problems, target, fitted)
            return None
        except RemoteError as exc:
            ctx.report.error(f"updating {entity} {native_id} on {ctx.name(target)}: {exc}")
            ctx.report.count(ctx.name(target), entity, "errors")
            return None
        reached(f"{entity}.update.after")
        ctx.report.count(ctx.name(target), entity, "updated")
        return kind.view(stored, target)

    def create(
        self,
        kind: EntityKind,
        source: Side,
        record: Any,
        new: Any,
        *,
        restored: bool = False,
        restore_id: str | None = None,
    ) -> None:
        """Create ``new`` (built from ``record``) on the other side: checked, intent first, then the link.

        ``restore_id``: the native id the record had on the other side before it was deleted there; a system
        that keeps deleted rows (TestPlanIt's soft delete, whose row keeps its unique key) brings that row back
        instead of creating a second one."""
        ctx = self.ctx
        entity = kind.entity
        target = other(source)
        adapter = ctx.side(target)
        label = kind.label(record)
        ref = f"{ctx.name(source)}:{record.id} {label!r}"
        subject = f"{source}:{record.id}"
        ctx.conflicts.examine(subject)
        ids = {"left_id": record.id} if source == "left" else {"right_id": record.id}
        fitted, _ = self.fit(entity, subject, ref, target, new, lambda r: kind.check(adapter, r), ids=ids)
        if fitted is None:
            return
        marker = marker_for(ctx.job.name, entity, source, str(record.id))
        ctx.report.act(PlannedAction(entity, "restore" if restored else "create", ctx.name(target), label, ref))
        intent = ctx.store.record_intent(ctx.job.name, entity, target, str(record.id), marker)
        if ctx.dry_run:
            created = ctx.simulate_create(target, entity, fitted, marker)
        else:
            reached(f"{entity}.create.before")
            try:
                created = kind.restore(adapter, restore_id, fitted, marker) if restore_id is not None else None
                if created is None:
                    created = kind.create(adapter, fitted, marker)
            except TransportError as exc:
                # the create may have landed: the open intent makes the next run look for the marker first
                ctx.report.error(f"creating {entity} {ref} on {ctx.name(target)}: {exc}")
                ctx.report.count(ctx.name(target), entity, "errors")
                if not exc.maybe_applied:
                    self.resolve_intent(intent.id, "failed")
                return
            except CannotRepresent as exc:
                self.resolve_intent(intent.id, "failed")
                ctx.conflicts.cannot_represent(entity, subject, ref, exc.problems, target, fitted, **ids)
                return
            except RemoteError as exc:
                self.resolve_intent(intent.id, "failed")
                ctx.report.error(f"creating {entity} {ref} on {ctx.name(target)}: {exc}")
                ctx.report.count(ctx.name(target), entity, "errors")
                return
            reached(f"{entity}.create.after")
        sview = kind.view(record, source)
        tview = kind.view(created, target)
        left_id, right_id = (str(record.id), str(created.id)) if source == "left" else (str(created.id), str(record.id))
        link = Link(
            job=ctx.job.name,
            entity=entity,
            left_id=left_id,
            right_id=right_id,
            marker=marker,
            base=jsonable(sview),
            left_hashes=hashes(sview if source == "left" else tview),
            right_hashes=hashes(tview if source == "left" else sview),
        )
        try:
            self.save_link(link, resolve_intent=intent.id, outcome=f"created:{created.id}")
        except IntegrityError:
            # another run of the job linked the source meanwhile: what this run made is a second copy, which
            # the open intent makes the next run report as a duplicate (never deleted by the bridge)
            ctx.report.error(
                f"{ref}: linked by another run of job {ctx.job.name} meanwhile; {ctx.name(target)}:{created.id} "
                "is a second copy, left in place (the next run logs it as a duplicate)"
            )
            return
        ctx.report.count(ctx.name(target), entity, "created")
        if not ctx.dry_run:  # (how a system re-formats what it is sent shows only when it is sent)
            ctx.conflicts.note_lossy(entity, ref, sview, tview, target)

    def delete(self, kind: EntityKind, side: Side, native_id: str) -> bool:
        """Delete a record on ``side``; False when the delete failed (reported)."""
        ctx = self.ctx
        ctx.report.act(PlannedAction(kind.entity, "delete", ctx.name(side), native_id))
        if ctx.dry_run or ctx.is_simulated(side, kind.entity, native_id):
            ctx.report.count(ctx.name(side), kind.entity, "deleted")
            return True
        reached(f"{kind.entity}.delete.before")
        try:
            kind.delete(ctx.side(side), native_id)
        except RemoteError as exc:
            ctx.report.error(f"deleting {kind.entity} {native_id} on {ctx.name(side)}: {exc}")
            ctx.report.count(ctx.name(side), kind.entity, "errors")
            return False
        reached(f"{kind.entity}.delete.after")
        ctx.report.count(ctx.name(side), kind.entity, "deleted")
        return True

    def ensure_folder(self, target: Side, path: Sequence[str]) -> None:
        ctx = self.ctx
        ctx.report.act(PlannedAction("folder", "create", ctx.name(target), "/".join(path)))
        if not ctx.dry_run:  # (the folder's cases are created with their path: nothing reads the new folder)
            try:
                ctx.side(target).ensure_folder(path)
            except RemoteError as exc:
                ctx.report.error(str(exc))
                ctx.report.count(ctx.name(target), "folder", "errors")
                return
        ctx.report.count(ctx.name(target), "folder", "created")

    def post_results(
        self,
        source: Side,
        target: Side,
        target_plan_id: str,
        outgoing: Sequence[tuple[Result, Result]],
        *,
        plan_ref: str,
        fingerprint: Callable[[Result], str],
    ) -> None:
        """Post copies of source results (``(source result, copy)`` pairs) to the target plan and record them."""
        ctx = self.ctx
        name = ctx.name(target)
        ctx.report.act(PlannedAction("result", "create", name, f"{len(outgoing)} results", f"plan of {plan_ref}"))
        # Results carry no marker on every system (TestRail has nowhere to keep one), so the intent names the
        # target plan: a run that dies between posting and recording leaves it open, and the next run adopts
        # what landed (see ResultSync._adopt_posted) instead of posting it a second time.
        intent = ctx.store.record_intent(
            ctx.job.name, "result", target, f"plan:{target_plan_id}", f"results:{len(outgoing)}"
        )
        if ctx.dry_run:
            stored = [ctx.simulate_create(target, "result", c, c.marker) for _, c in outgoing]
        else:
            reached("result.post.before")
            try:
                stored = ctx.side(target).add_results([c for _, c in outgoing])
            except CannotRepresent as exc:  # refused before anything was sent
                self.resolve_intent(intent.id, "failed")
                for p in exc.problems:
                    ctx.conflicts.cannot_represent(
                        "result", f"{target}:plan:{target_plan_id}", f"results for plan {plan_ref}", [p], target, None
                    )
                return
            except RemoteError as exc:
                # some batches may have landed: the intent stays open for the next run to settle
                ctx.report.error(f"posting results to {name}: {exc}")
                ctx.report.count(name, "result", "errors")
                return
            reached("result.post.after")
        rows = [
            ResultCopy(
                job=ctx.job.name,
                source_side=source,
                source_id=str(src.id),
                target_id=str(st.id) if st.id is not None else None,
                marker=copy.marker or "",
                fingerprint=fingerprint(copy),
            )
            for (src, copy), st in zip(outgoing, stored, strict=False)
        ]
        ctx.store.record_result_copies(rows)
        if not ctx.dry_run:
            reached("result.record.after")
        self.resolve_intent(intent.id, f"created:{len(rows)}")
        ctx.report.count(name, "result", "created", len(rows))

    # -------------------------------------------------------------------------------------- store
    # (a dry run's store is a scratch copy: these are the same calls in both)
    def save_link(self, link: Link, *, resolve_intent: int | None = None, outcome: str | None = None) -> Link:
        dry = self.ctx.dry_run
        if not dry:
            reached(f"{link.entity}.link.before")
        saved = self.ctx.store.save_link(link, resolve_intent=resolve_intent, outcome=outcome)
        if not dry:
            reached(f"{link.entity}.link.after")
        return saved

    def try_link(self, link: Link, *, resolve_intent: int | None = None, outcome: str | None = None) -> Link | None:
        """Save a new link, or None (said in the report) when another run of the job linked one of its records
        meanwhile: the next run sees that link, and whatever else it finds is then a duplicate."""
        try:
            return self.save_link(link, resolve_intent=resolve_intent, outcome=outcome)
        except IntegrityError:
            ctx = self.ctx
            ctx.report.note(
                f"{link.entity} {ctx.record_ref(link.left_id, link.right_id)}: linked by another run of job "
                f"{ctx.job.name} meanwhile; not linked again"
            )
            return None

    def delete_link(self, link: Link) -> None:
        self.ctx.store.delete_link(link)

    def resolve_intent(self, intent_id: int | None, outcome: str) -> None:
        if intent_id is not None:
            self.ctx.store.resolve_intent(intent_id, outcome)
