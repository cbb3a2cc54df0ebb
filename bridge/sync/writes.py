"""The one path by which a run changes anything: remote creates, updates and deletes, links and intents.

Every write is checked against what the side can hold first (a value it cannot hold becomes a
``cannot-represent`` entry and that write is not made), planned as an action, counted, and only then sent;
a create is preceded by a committed intent carrying the marker the new record will hold, and the link (with
the base snapshot) is saved only after the remote write succeeded.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from bridge.errors import CannotRepresent, RemoteError, TransportError, Unrepresentable
from bridge.model import Result
from bridge.sync.conflicts import pair_subject
from bridge.sync.context import RunContext, jsonable, other
from bridge.sync.entities import EntityKind
from bridge.sync.faultpoints import reached
from bridge.sync.markers import marker_for
from bridge.sync.merge import Side, hashes, hashes_like
from bridge.sync.report import FieldChange, PlannedAction
from bridge.sync.unchanged import full
from mappings.tables import Link, ResultCopy

#: creates per store transaction (intents first, links after): one commit for this many instead of two each.
#: A commit writes every page it touched (the index pages, the intents' pages, the database header) to the
#: WAL and again at the next checkpoint: at 10,000 cases 512 a batch write a fifth less per case than 256;
#: a crash leaves at most two batches to adopt
CREATE_BATCH = 512


@dataclass(eq=False)
class _Create:
    """One create on its way: planned, intent recorded, sent, then linked."""

    kind: EntityKind
    source: Side
    record: Any
    fitted: Any
    marker: str
    ref: str
    subject: str
    ids: dict[str, Any]
    restore_id: str | None = None
    #: the target's verdict on ``fitted`` (EntityKind.inspect): the create uses it instead of checking again
    checked: Any = None
    intent_id: int | None = None
    #: the outcome to close the intent with; None leaves it open (a create that may have landed)
    close: str | None = None
    #: the link to save, as a store row (:meth:`~mappings.store.Store.insert_links`): a ``Link`` model per
    #: create cost more CPU than its insert; one is made only where a link is saved on its own
    link: dict[str, Any] | None = None
    sview: dict[str, Any] = field(default_factory=dict)
    tview: dict[str, Any] = field(default_factory=dict)
    #: hashes of ``sview`` and ``tview``, taken once: the link stores them and the lossy-write check compares them
    shashes: dict[str, str] = field(default_factory=dict)
    thashes: dict[str, str] = field(default_factory=dict)


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
        pending = self._prepare(kind, source, record, new, restored=restored, restore_id=restore_id)
        if pending is None:
            return
        self._record_intents(kind.entity, [pending])
        self._finish([self._send(pending)])

    def create_many(self, kind: EntityKind, items: Sequence[tuple[Side, Any]], label: str) -> None:
        """``create`` for many records (``(source side, record)``, each made with ``kind.for_create``),
        ``workers`` at a time.

        The store is written in batches: the intents of a batch are committed in one transaction before any
        create of the batch is sent (so a crash leaves each sent create with an open intent, as ``create``
        does), and the links of landed creates are saved a batch per transaction. While one batch is being
        sent, the next one's intents are recorded, so the workers never wait for the store."""
        ctx = self.ctx
        if not items:
            return
        tick = ctx.progress(label, len(items))
        size = CREATE_BATCH
        # finished creates come back through a queue: waiting on a set of futures costs a waiter per future
        # on every wait, which at a batch of 64 cost more CPU than the store
        finished: queue.SimpleQueue[_Create | BaseException] = queue.SimpleQueue()
        inflight = 0
        done: list[_Create] = []

        def send(c: _Create) -> None:
            try:
                finished.put(self._send(c))
            except BaseException as exc:  # (what fails remotely is reported by _send; the rest is a bug)
                finished.put(exc)

        def collect() -> None:
            nonlocal inflight
            item = finished.get()
            inflight -= 1
            if isinstance(item, BaseException):
                raise item
            done.append(item)
            tick(1)  # (may raise: a daemon stopping ends the run at this record boundary)

        with ThreadPoolExecutor(max_workers=ctx.workers, thread_name_prefix=f"create-{ctx.job.name}") as pool:
            try:
                for first in range(0, len(items), size):
                    batch: list[_Create] = []
                    for source, held in items[first : first + size]:
                        record = full(held)  # a listing holds its cases packed: only a batch is unpacked
                        try:
                            pending = self._prepare(kind, source, record, kind.for_create(record, source))
                        except RemoteError as exc:
                            ctx.report.error(str(exc))
                            pending = None
                        if pending is None:
                            tick(1)
                        else:
                            batch.append(pending)
                    self._record_intents(kind.entity, batch)
                    for pending in batch:
                        pool.submit(send, pending)
                    inflight += len(batch)
                    while inflight > size:
                        collect()
                        if len(done) >= size:
                            self._finish(done)
                            done = []
                while inflight:
                    collect()
            except BaseException:
                # the run stops here (a stopping daemon, an interrupt): creates not started are not sent,
                # those in flight finish, and what landed is linked below; the rest keeps its open intent
                pool.shutdown(wait=True, cancel_futures=True)
                while not finished.empty():
                    item = finished.get()
                    if not isinstance(item, BaseException):
                        done.append(item)
                raise
            finally:
                self._finish(done)

    def _prepare(
        self,
        kind: EntityKind,
        source: Side,
        record: Any,
        new: Any,
        *,
        restored: bool = False,
        restore_id: str | None = None,
    ) -> _Create | None:
        """Check and plan one create; None when the target cannot hold it (logged)."""
        ctx = self.ctx
        entity = kind.entity
        target = other(source)
        adapter = ctx.side(target)
        label = kind.label(record)
        ref = f"{ctx.name(source)}:{record.id} {label!r}"
        subject = f"{source}:{record.id}"
        ctx.conflicts.examine(subject)
        ids = {"left_id": record.id} if source == "left" else {"right_id": record.id}
        verdict: list[Any] = [None]

        def check(candidate: Any) -> list[Unrepresentable]:
            problems, verdict[0] = kind.inspect(adapter, candidate)  # (fit checks what it returns last)
            return problems

        fitted, _ = self.fit(entity, subject, ref, target, new, check, ids=ids)
        if fitted is None:
            return None
        marker = marker_for(ctx.job.name, entity, source, str(record.id))
        ctx.report.act(PlannedAction(entity, "restore" if restored else "create", ctx.name(target), label, ref))
        return _Create(kind, source, record, fitted, marker, ref, subject, ids, restore_id, verdict[0])

    def _record_intents(self, entity: str, batch: Sequence[_Create]) -> None:
        ids = self.ctx.store.record_intents(
            self.ctx.job.name, entity, [(other(c.source), str(c.record.id), c.marker) for c in batch]
        )
        for pending, intent_id in zip(batch, ids, strict=True):
            pending.intent_id = intent_id

    def _send(self, c: _Create) -> _Create:
        """Send one create (its intent is committed); the link to save is set on success."""
        ctx = self.ctx
        kind, entity, source = c.kind, c.kind.entity, c.source
        target = other(source)
        adapter = ctx.side(target)
        if ctx.dry_run:
            created = ctx.simulate_create(target, entity, c.fitted, c.marker)
        else:
            reached(f"{entity}.create.before")
            try:
                created = kind.restore(adapter, c.restore_id, c.fitted, c.marker) if c.restore_id is not None else None
                if created is None:
                    created = kind.create(adapter, c.fitted, c.marker, c.checked)
            except TransportError as exc:
                # the create may have landed: the open intent makes the next run look for the marker first
                ctx.report.error(f"creating {entity} {c.ref} on {ctx.name(target)}: {exc}")
                ctx.report.count(ctx.name(target), entity, "errors")
                c.close = None if exc.maybe_applied else "failed"
                return c
            except CannotRepresent as exc:
                c.close = "failed"
                ctx.conflicts.cannot_represent(entity, c.subject, c.ref, exc.problems, target, c.fitted, **c.ids)
                return c
            except RemoteError as exc:
                c.close = "failed"
                ctx.report.error(f"creating {entity} {c.ref} on {ctx.name(target)}: {exc}")
                ctx.report.count(ctx.name(target), entity, "errors")
                return c
            reached(f"{entity}.create.after")
        c.sview = kind.view(c.record, source)
        c.tview = kind.view(created, target)
        c.shashes = sh = hashes(c.sview)
        c.thashes = th = hashes_like(c.tview, c.sview, sh)
        record_id, created_id = str(c.record.id), str(created.id)
        left_id, right_id = (record_id, created_id) if source == "left" else (created_id, record_id)
        c.link = {
            "job": ctx.job.name,
            "entity": entity,
            "left_id": left_id,
            "right_id": right_id,
            "marker": c.marker,
            "base": jsonable(c.sview),
            "left_hashes": sh if source == "left" else th,
            "right_hashes": th if source == "left" else sh,
        }
        c.close = f"created:{created_id}"
        return c

    def _finish(self, done: Sequence[_Create]) -> None:
        """Save the links of landed creates and close the intents of failed ones, in one transaction."""
        if not done:
            return
        ctx = self.ctx
        made = [c for c in done if c.link is not None]
        failed = [(c.intent_id, c.close) for c in done if c.link is None and c.close and c.intent_id is not None]
        entity = done[0].kind.entity  # (a batch holds creates of one entity)
        try:
            if not ctx.dry_run:
                reached(f"{entity}.link.before")
            ctx.store.insert_links(
                [c.link for c in made if c.link is not None],
                failed + [(c.intent_id, c.close) for c in made if c.intent_id is not None and c.close],
            )
            if not ctx.dry_run:
                reached(f"{entity}.link.after")
            saved = made
        except IntegrityError:
            # another run linked one of the sources meanwhile: save one at a time to find which
            ctx.store.resolve_intents(failed)
            saved = [c for c in made if self._save_one(c)]
        for c in saved:
            target = other(c.source)
            ctx.report.count(ctx.name(target), c.kind.entity, "created")
            if not ctx.dry_run:  # (how a system re-formats what it is sent shows only when it is sent)
                ctx.conflicts.note_lossy(c.kind.entity, c.ref, c.sview, c.tview, target, c.shashes, c.thashes)

    def _save_one(self, c: _Create) -> bool:
        assert c.link is not None
        link = Link(**c.link)
        try:
            self.save_link(link, resolve_intent=c.intent_id, outcome=c.close)
        except IntegrityError:
            # what this run made is a second copy, which the open intent makes the next run report as a
            # duplicate (never deleted by the bridge)
            ctx = self.ctx
            ctx.report.error(
                f"{c.ref}: linked by another run of job {ctx.job.name} meanwhile; "
                f"{ctx.name(other(c.source))}:{link.right_id if c.source == 'left' else link.left_id} "
                "is a second copy, left in place (the next run logs it as a duplicate)"
            )
            return False
        return True

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
