"""What matching needs from outside the JUnit files: how each system writes its ids (the config), and the
bridge's links between the target's cases and other systems' (the mapping store, read only)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adapters.registry import SYNCABLE_KINDS
from bridge.ci.ids import IdScheme, schemes_for
from bridge.ci.matching import Links
from bridge.config import Config


def id_schemes(
    config: Config, target: str, patterns: Sequence[str] | None = None, properties: Sequence[str] | None = None
) -> list[IdScheme]:
    """How each system's case ids are written: the config's [ci.case_ids]; for the target, ``patterns`` and
    ``properties`` (the CLI's) where given."""
    systems = {n: s.kind for n, s in config.systems.items() if s.kind in SYNCABLE_KINDS}
    overrides: dict[str, tuple[Sequence[str] | None, Sequence[str] | None]] = {
        name: (table.patterns, table.properties) for name, table in config.ci.case_ids.items()
    }
    configured = overrides.get(target, (None, None))
    overrides[target] = (
        patterns if patterns is not None else configured[0],
        properties if properties is not None else configured[1],
    )
    return schemes_for(systems, overrides)


def bridge_links(config: Config, system_name: str) -> Links:
    """For each system a sync job links to ``system_name``: its case ids -> the linked case ids here.

    Read only: a store that does not exist yet is not created by a CI push (nothing is linked then).
    """
    jobs = [j for j in config.jobs if system_name in (j.left, j.right)]
    links: dict[str, dict[str, set[str]]] = {(j.right if j.left == system_name else j.left): {} for j in jobs}
    url = config.store.url
    if not jobs or (url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()):
        return links
    from mappings.store import Store  # SQLAlchemy only when a job can have links

    store = Store(url)
    try:
        for job in jobs:
            target_is_left = job.left == system_name
            other = job.right if target_is_left else job.left
            for left_id, right_id in store.active_link_ids(job.name, "case"):
                theirs, mine = (right_id, left_id) if target_is_left else (left_id, right_id)
                links[other].setdefault(theirs, set()).add(mine)
    finally:
        store.close()
    return links
