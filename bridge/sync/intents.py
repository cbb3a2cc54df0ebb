"""Creates an earlier run left unfinished, and the second copies two runs at once can leave behind.

An open intent is adopted by the marker its record carries, or abandoned when nothing carries it. Adoption
checks both sides of the link it would make: a source already linked (by a concurrent run) keeps its link,
and a record carrying the marker of a linked source is a duplicate. Duplicates are left in place and logged
for a person (never deleted, never copied to the other side), and the run says what it repaired.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge.sync.context import SIDES, RunContext, jsonable, other
from bridge.sync.entities import EntityKind
from bridge.sync.markers import marker_for
from bridge.sync.merge import Side, hashes
from bridge.sync.report import PlannedAction
from bridge.sync.unchanged import full
from mappings.tables import Intent, Link, LinkIds


def _id_order(record: Any) -> tuple[int, str]:
    return (len(str(record.id)), str(record.id))  # numeric ids in numeric order: the oldest first


def settle_intents(
    ctx: RunContext, kind: EntityKind, listed: dict[Side, dict[str, Any]], links: Sequence[LinkIds]
) -> bool:
    """Adopt records created by a run that died before linking them; abandon intents that never landed.
    Whether there were any (only then can the links have changed)."""
    intents = ctx.store.open_intents(ctx.job.name, kind.entity)
    if not intents:
        return False
    linked: dict[Side, dict[str, LinkIds]] = {
        "left": {link.left_id: link for link in links},
        "right": {link.right_id: link for link in links},
    }
    # the records the listings do not show (a listing without markers, an incremental read, a record not
    # listed yet) are looked up together: after a crash a whole batch of intents is open
    shown = {side: {r.marker for r in listed[side].values() if r.marker} for side in SIDES}
    unseen: dict[Side, list[str]] = {"left": [], "right": []}
    for intent in intents:
        side: Side = intent.target_side  # type: ignore[assignment]
        if intent.marker not in shown[side]:
            unseen[side].append(intent.marker)
    looked_up: dict[Side, dict[str, Any]] = {
        side: kind.find_by_markers(ctx.side(side), markers) if markers else {} for side, markers in unseen.items()
    }
    for intent in intents:
        _settle(ctx, kind, intent, listed, linked, looked_up)
    return True


def _settle(
    ctx: RunContext,
    kind: EntityKind,
    intent: Intent,
    listed: dict[Side, dict[str, Any]],
    linked: dict[Side, dict[str, LinkIds]],
    looked_up: dict[Side, dict[str, Any]],
) -> None:
    entity = kind.entity
    target: Side = intent.target_side  # type: ignore[assignment]
    source = other(target)
    carriers = sorted((r for r in listed[target].values() if r.marker == intent.marker), key=_id_order)
    if not carriers:
        found = looked_up[target].get(intent.marker)
        carriers = [found] if found is not None and found.id is not None else []
    if not carriers:
        ctx.writer.resolve_intent(intent.id, "abandoned")
        return
    source_link = linked[source].get(intent.source_id)
    if source_link is not None:
        # the source is linked already (another run linked it meanwhile): whatever else carries its marker
        # is a second copy, which the duplicate check reports
        mate = source_link.right_id if target == "right" else source_link.left_id
        others = [str(r.id) for r in carriers if str(r.id) != mate]
        ctx.writer.resolve_intent(intent.id, f"adopted:{mate}" if not others else f"duplicate:{','.join(others)}")
        if others:
            ctx.report.note(
                f"repaired: {entity} {ctx.name(source)}:{intent.source_id} was created twice on {ctx.name(target)} "
                f"by runs at the same time; it stays linked to {ctx.name(target)}:{mate}, and "
                f"{', '.join(f'{ctx.name(target)}:{o}' for o in others)} is logged as a duplicate "
                "(testplan-bridge conflicts list), not deleted"
            )
        return
    src = full(listed[source].get(intent.source_id))
    free = [r for r in carriers if str(r.id) not in linked[target]]
    if src is None or not free:
        ctx.writer.resolve_intent(intent.id, f"adopted:{carriers[0].id}")
        return
    found = full(free[0])
    ctx.report.act(PlannedAction(entity, "adopt", ctx.name(target), str(found.id), intent.marker))
    lrec, rrec = (src, found) if target == "right" else (found, src)
    lview, rview = kind.view(lrec, "left"), kind.view(rrec, "right")
    left_id, right_id = (intent.source_id, str(found.id)) if target == "right" else (str(found.id), intent.source_id)
    link = Link(
        job=ctx.job.name,
        entity=entity,
        left_id=left_id,
        right_id=right_id,
        marker=intent.marker,
        base=jsonable(lview if source == "left" else rview),
        left_hashes=hashes(lview),
        right_hashes=hashes(rview),
    )
    saved = ctx.writer.try_link(link, resolve_intent=intent.id, outcome=f"adopted:{found.id}")
    if saved is None:
        return
    linked["left"][left_id] = linked["right"][right_id] = saved
    ctx.report.count(ctx.name(target), entity, "adopted")


def set_aside_duplicates(
    ctx: RunContext, kind: EntityKind, listed: dict[Side, dict[str, Any]], links: Sequence[LinkIds], *, complete: bool
) -> None:
    """Take out of ``listed`` the unlinked records that carry the marker of a linked record's source (second
    copies the bridge made), and log each as a duplicate; ``complete``: both listings are full, so entries
    whose duplicate is gone can close."""
    entity = kind.entity
    if complete:
        ctx.conflicts.examine_kind("duplicate")
    expected: dict[str, tuple[Side, str]] = {}  # marker -> (side holding the copy, the linked copy's id)
    for link in links:
        expected[marker_for(ctx.job.name, entity, "left", link.left_id)] = ("right", link.right_id)
        expected[marker_for(ctx.job.name, entity, "right", link.right_id)] = ("left", link.left_id)
    linked: dict[Side, set[str]] = {"left": {lk.left_id for lk in links}, "right": {lk.right_id for lk in links}}
    for side in SIDES:
        for rid, record in sorted(listed[side].items()):
            hit = expected.get(record.marker or "")
            if hit is None or hit[0] != side or rid in linked[side] or rid == hit[1]:
                continue
            if f"duplicate:{side}:{rid}" in ctx.conflicts.kept:
                continue  # a person said it is a record of its own
            del listed[side][rid]
            ctx.conflicts.duplicate(entity, side, rid, hit[1], kind.label(record))
