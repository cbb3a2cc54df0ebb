"""Creates an earlier run left unfinished: adopted by the marker they carry, or abandoned."""

from __future__ import annotations

from typing import Any

from bridge.sync.context import RunContext, jsonable, other
from bridge.sync.entities import EntityKind
from bridge.sync.merge import Side, hashes
from bridge.sync.report import PlannedAction
from mappings.tables import Link


def settle_intents(ctx: RunContext, kind: EntityKind, listed: dict[Side, dict[str, Any]], links: list[Link]) -> None:
    """Adopt records created by a run that died before linking them; abandon intents that never landed."""
    entity = kind.entity
    intents = ctx.store.open_intents(ctx.job.name, entity)
    if not intents:
        return
    linked = {(link.left_id, link.right_id) for link in links}
    for intent in intents:
        target: Side = intent.target_side  # type: ignore[assignment]
        source = other(target)
        by_marker = {r.marker: r for r in listed[target].values() if r.marker}
        found = by_marker.get(intent.marker)
        if found is None:
            found = kind.find_by_marker(ctx.side(target), intent.marker)
        src = listed[source].get(intent.source_id)
        if found is None or found.id is None:
            ctx.writer.resolve_intent(intent.id, "abandoned")
            continue
        left_id, right_id = (intent.source_id, found.id) if target == "right" else (found.id, intent.source_id)
        if (left_id, right_id) in linked or src is None:
            ctx.writer.resolve_intent(intent.id, f"adopted:{found.id}")
            continue
        ctx.report.act(PlannedAction(entity, "adopt", ctx.name(target), str(found.id), intent.marker))
        if ctx.dry_run:
            continue
        lrec, rrec = (src, found) if target == "right" else (found, src)
        lview, rview = kind.view(lrec, "left"), kind.view(rrec, "right")
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
        ctx.writer.save_link(link, resolve_intent=intent.id, outcome=f"adopted:{found.id}")
        listed[target][found.id] = found
        links.append(link)
        linked.add((left_id, right_id))
        ctx.report.count(ctx.name(target), entity, "adopted")
